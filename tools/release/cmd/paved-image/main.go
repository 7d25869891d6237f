// Command paved-image writes paved's container image
// (ghcr.io/paved-dev/paved) as an OCI image layout, without a container
// daemon or a base image: `make image` runs it on the linux binaries of a
// `make release-snapshot` (or of a release), named by dist/artifacts.json.
//
// The image is one layer: paved at /usr/local/bin/paved, the CA bundle
// its HTTPS (git fetch and push, the GitHub and GitLab APIs) verifies
// against, /etc/passwd and /etc/group naming the non-root user paved
// (65532) it runs as, its home and /tmp. paved runs git through go-git and
// execs no program; busybox (Debian's busybox-static, a static binary) is
// there for CI runners, which run a job's script with /bin/sh inside the
// image (GitLab's docker executor).
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repository is the image's name; a layout's image is tagged with it.
const Repository = "ghcr.io/paved-dev/paved"

// User is the uid and gid paved runs as (distroless's "nonroot").
const User = "65532"

func main() {
	dist := flag.String("dist", "dist", "GoReleaser's output directory (metadata.json, artifacts.json)")
	out := flag.String("out", "", "the OCI layout to write (default DIST/oci); replaced whole")
	ca := flag.String("ca", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle to ship")
	busybox := flag.String("busybox", "", "a static busybox for linux/amd64 (Debian's busybox-static)")
	created := flag.String("created", "", "the image's time, RFC 3339 (the commit's: make image passes it); default the release's")
	flag.Parse()
	if *out == "" {
		*out = filepath.Join(*dist, "oci")
	}
	if err := run(*dist, *out, *ca, *busybox, *created); err != nil {
		fmt.Fprintln(os.Stderr, "paved-image:", err)
		os.Exit(1)
	}
}

type metadata struct {
	ProjectName string    `json:"project_name"`
	Version     string    `json:"version"`
	Commit      string    `json:"commit"`
	Date        time.Time `json:"date"`
}

type artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Goos   string `json:"goos"`
	Goarch string `json:"goarch"`
	Type   string `json:"type"`
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Tag is the image tag of a version: vX.Y.Z, with a snapshot's build
// metadata (+commit), which a tag cannot hold, after a dash.
func Tag(version string) string {
	return "v" + strings.ReplaceAll(version, "+", "-")
}

func run(dist, out, caPath, busybox, createdAt string) error {
	var md metadata
	if err := readJSON(filepath.Join(dist, "metadata.json"), &md); err != nil {
		return err
	}
	var arts []artifact
	if err := readJSON(filepath.Join(dist, "artifacts.json"), &arts); err != nil {
		return err
	}
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return fmt.Errorf("the CA bundle: %w", err)
	}
	// The image's times are the commit's: the same commit builds the same
	// image.
	created := md.Date.UTC()
	if createdAt != "" {
		t, err := time.Parse(time.RFC3339, createdAt)
		if err != nil {
			return fmt.Errorf("-created: %w", err)
		}
		created = t.UTC()
	}
	var bins []artifact
	for _, a := range arts {
		if a.Type == "Binary" && a.Name == "paved" && a.Goos == "linux" && a.Goarch == "amd64" {
			bins = append(bins, a)
		}
	}
	if len(bins) != 1 {
		return fmt.Errorf("%s: want one linux/amd64 paved binary, found %d", filepath.Join(dist, "artifacts.json"), len(bins))
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, b := range bins {
		bin, err := os.ReadFile(b.Path)
		if err != nil {
			return err
		}
		files := []file{
			{name: "etc/", mode: 0o755 | dir},
			{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\npaved:x:" + User + ":" + User + ":paved:/home/paved:/sbin/nologin\n")},
			{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\npaved:x:" + User + ":\n")},
			{name: "etc/ssl/", mode: 0o755 | dir},
			{name: "etc/ssl/certs/", mode: 0o755 | dir},
			{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca},
			{name: "home/", mode: 0o755 | dir},
			{name: "home/paved/", mode: 0o700 | dir, owner: User},
			{name: "tmp/", mode: 0o1777 | dir},
			{name: "usr/", mode: 0o755 | dir},
			{name: "usr/local/", mode: 0o755 | dir},
			{name: "usr/local/bin/", mode: 0o755 | dir},
			{name: "usr/local/bin/paved", mode: 0o755, data: bin},
			{name: "work/", mode: 0o755 | dir, owner: User},
		}
		if busybox != "" {
			bb, err := os.ReadFile(busybox)
			if err != nil {
				return err
			}
			files = append(files, file{name: "bin/", mode: 0o755 | dir}, file{name: "bin/busybox", mode: 0o755, data: bb})
			for _, applet := range []string{"sh", "cat", "date", "echo", "env", "ls", "mkdir", "rm", "sed", "grep", "test", "["} {
				files = append(files, file{name: "bin/" + applet, link: "busybox"})
			}
		}
		layerTar, err := tarFiles(files, created)
		if err != nil {
			return err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(layerTar)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return err
		}
		img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
			Created: v1.Time{Time: created}, CreatedBy: "paved-image (tools/release)", Comment: "paved " + md.Version,
		}})
		if err != nil {
			return err
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = b.Goos, b.Goarch
		cf.Created = v1.Time{Time: created}
		labels := map[string]string{
			"org.opencontainers.image.title":       "paved",
			"org.opencontainers.image.description": "Renders CUE app specs into a Flux fleet repository and lints them with Rego policies",
			"org.opencontainers.image.source":      "https://github.com/paved-dev/paved",
			"org.opencontainers.image.url":         "https://github.com/paved-dev/paved",
			"org.opencontainers.image.version":     md.Version,
			"org.opencontainers.image.revision":    md.Commit,
			"org.opencontainers.image.created":     created.Format(time.RFC3339),
		}
		cf.Config = v1.Config{
			Entrypoint: []string{"/usr/local/bin/paved"},
			User:       User + ":" + User,
			WorkingDir: "/work",
			Env: []string{
				"PATH=/usr/local/bin:/bin",
				"HOME=/home/paved",
				"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
			},
			Labels: labels,
		}
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: b.Goos, Architecture: b.Goarch},
				Annotations: map[string]string{
					"org.opencontainers.image.ref.name": Repository + ":" + Tag(md.Version),
					"org.opencontainers.image.version":  md.Version,
					"org.opencontainers.image.revision": md.Commit,
				},
			},
		})
	}
	// Nothing is left half written: the layout is written beside out and
	// renamed over it.
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := layout.Write(tmp, idx); err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	d, _ := idx.Digest()
	fmt.Printf("%s: %s:%s (%s)\n", out, Repository, Tag(md.Version), d)
	return nil
}

const dir = 1 << 31

type file struct {
	name  string
	mode  int64
	data  []byte
	link  string // a symbolic link's target
	owner string // uid and gid; root when empty
}

// tarFiles is a layer's tar: files in name order, owned by root unless
// said, all times t.
func tarFiles(files []file, t time.Time) ([]byte, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, ModTime: t, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if f.owner != "" {
			fmt.Sscan(f.owner, &h.Uid)
			h.Gid, h.Uname, h.Gname = h.Uid, "paved", "paved"
		}
		switch {
		case f.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.link, 0o777
		case f.mode&dir != 0:
			h.Typeflag, h.Mode = tar.TypeDir, f.mode&^dir
		default:
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, f.mode, int64(len(f.data))
		}
		if !strings.HasSuffix(f.name, "/") && h.Typeflag == tar.TypeDir {
			return nil, fmt.Errorf("%s: a directory's name ends in /", f.name)
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
