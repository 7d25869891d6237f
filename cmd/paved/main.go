// Command paved validates CUE app specs, renders them into a Flux fleet
// repository layout with the platform's defaults, and lints the result.
package main

import (
	"os"

	"github.com/paved-dev/paved/internal/cli"
)

func main() { os.Exit(cli.Main()) }
