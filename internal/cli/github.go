package cli

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v88/github"
)

// githubClient is a GitHub API client with token: the API at api, else
// GITHUB_API_URL, else https://api.github.com/ (paved comment, paved
// preview gc).
func githubClient(token, api string) (*github.Client, error) {
	if api == "" {
		api = os.Getenv("GITHUB_API_URL")
	}
	opts := []github.ClientOptionsFunc{github.WithAuthToken(token), github.WithHTTPClient(&http.Client{Timeout: 30 * time.Second})}
	if api != "" {
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		opts = append(opts, github.WithURLs(&api, &api))
	}
	return github.NewClient(opts...)
}

// withPreview puts the preview lines under the body's first line (paved's
// marker), followed by a blank line.
func withPreview(body, preview []byte) []byte {
	preview = bytes.TrimSpace(preview)
	if len(preview) == 0 {
		return body
	}
	first, rest, _ := bytes.Cut(body, []byte("\n"))
	var b bytes.Buffer
	b.Write(first)
	b.WriteString("\n")
	b.Write(preview)
	b.WriteString("\n\n")
	b.Write(rest)
	return b.Bytes()
}
