// Package release tests what `make release-snapshot` and `make image`
// built into dist/ (PAVED_DIST): the archives, checksums and SBOM, the
// linux/amd64 archive's paved, the OCI image layout, and the GitHub
// Action's install script against the snapshot served on 127.0.0.1. `make
// release-check` runs it; without PAVED_DIST it skips.
package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

type metadata struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

func dist(t *testing.T) (string, metadata) {
	t.Helper()
	d := os.Getenv("PAVED_DIST")
	if d == "" {
		t.Skip("PAVED_DIST is not set: make release-check runs this test on what make release-snapshot built")
	}
	var md metadata
	data, err := os.ReadFile(filepath.Join(d, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	if md.Version == "" || len(md.Commit) != 40 {
		t.Fatalf("metadata.json: version %q, commit %q: want a version and a full commit", md.Version, md.Commit)
	}
	return d, md
}

// checksums reads GoReleaser's checksums file: file name to SHA-256.
func checksums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 2 {
			t.Fatalf("%s: line %q", path, s.Text())
		}
		sums[fields[1]] = fields[0]
	}
	return sums
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestSnapshot checks the archives for every platform, their checksums and
// the SBOM, then unpacks the linux/amd64 archive and runs its paved: its
// version and commit are the snapshot's.
func TestSnapshot(t *testing.T) {
	d, md := dist(t)
	sums := checksums(t, filepath.Join(d, "paved_"+md.Version+"_checksums.txt"))
	platforms := []string{"linux_amd64.tar.gz", "linux_arm64.tar.gz", "darwin_amd64.tar.gz", "darwin_arm64.tar.gz", "windows_amd64.zip"}
	if os.Getenv("PAVED_RELEASE_TARGETS") == "linux_amd64" {
		// A snapshot of the runner's platform alone (make release-check
		// RELEASE_TARGETS=linux_amd64, as .ci/run runs it).
		platforms = platforms[:1]
	}
	for _, p := range platforms {
		name := "paved_" + md.Version + "_" + p
		want, ok := sums[name]
		if !ok {
			t.Errorf("the checksums file names no %s", name)
			continue
		}
		if got := sha256File(t, filepath.Join(d, name)); got != want {
			t.Errorf("%s: SHA-256 %s, the checksums file says %s", name, got, want)
		}
	}

	// The linux/amd64 binary's SBOM: CycloneDX, naming paved at the
	// snapshot's version and the engines it embeds.
	sbom := "paved_" + md.Version + "_linux_amd64.cdx.json"
	data, err := os.ReadFile(filepath.Join(d, sbom))
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct{ Name, Version string } `json:"component"`
		} `json:"metadata"`
		Components []struct{ Name, Version string } `json:"components"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatal(err)
	}
	if c := bom.Metadata.Component; bom.BOMFormat != "CycloneDX" || c.Name != "github.com/paved-dev/paved" || c.Version != "v"+md.Version {
		t.Errorf("%s: format %q, component %s %s: want CycloneDX of github.com/paved-dev/paved v%s", sbom, bom.BOMFormat, c.Name, c.Version, md.Version)
	}
	found := map[string]bool{}
	for _, c := range bom.Components {
		found[c.Name] = true
	}
	for _, m := range []string{"cuelang.org/go", "github.com/open-policy-agent/opa", "sigs.k8s.io/kustomize/api"} {
		if !found[m] {
			t.Errorf("%s: no component %s", sbom, m)
		}
	}

	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the linux/amd64 binary runs on linux/amd64 only")
	}
	bin := filepath.Join(t.TempDir(), "paved")
	untarFile(t, filepath.Join(d, "paved_"+md.Version+"_linux_amd64.tar.gz"), "paved", bin)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("paved version: %v\n%s", err, out)
	}
	checkVersion(t, string(out), md)
	// Stripped: no symbol table (go tool nm has nothing to list).
	if nm, err := exec.Command("go", "tool", "nm", bin).CombinedOutput(); err == nil || !strings.Contains(string(nm), "no symbols") {
		t.Errorf("the release binary has symbols (go tool nm: %v):\n%.300s", err, nm)
	}
}

// checkVersion requires `paved version`'s first lines to name the
// snapshot's version and commit.
func checkVersion(t *testing.T, out string, md metadata) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "paved v"+md.Version || strings.Join(strings.Fields(lines[1]), " ") != "commit "+md.Commit {
		t.Errorf("paved version:\n%s\nwant paved v%s, commit %s", out, md.Version, md.Commit)
	}
}

// untarFile extracts the file name of a .tar.gz to dst.
func untarFile(t *testing.T, archive, name, dst string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no %s", archive, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestImage checks the OCI layout `make image` wrote: one linux/amd64
// image tagged ghcr.io/paved-dev/paved:<version>, whose config runs paved
// as a non-root user with the OCI labels, and whose layers hold a paved
// that runs and names the snapshot, a /bin/sh, the CA bundle, the user in
// /etc/passwd and a world-writable sticky /tmp.
func TestImage(t *testing.T) {
	d, md := dist(t)
	idx, err := layout.ImageIndexFromPath(filepath.Join(d, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("the layout has %d images, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	// A tag cannot hold a snapshot's +commit.
	tag := "v" + strings.ReplaceAll(md.Version, "+", "-")
	if ref := desc.Annotations["org.opencontainers.image.ref.name"]; ref != "ghcr.io/paved-dev/paved:"+tag {
		t.Errorf("ref.name %q, want ghcr.io/paved-dev/paved:%s", ref, tag)
	}
	if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != "amd64" {
		t.Errorf("platform %v, want linux/amd64", desc.Platform)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/paved" {
		t.Errorf("entrypoint %q, want /usr/local/bin/paved", got)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (not root)", cf.Config.User)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/paved-dev/paved",
		"org.opencontainers.image.version":  md.Version,
		"org.opencontainers.image.revision": md.Commit,
	} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config platform %s/%s", cf.OS, cf.Architecture)
	}

	root := t.TempDir()
	files := extract(t, img, root)
	for name, check := range map[string]func(h *tar.Header) bool{
		"usr/local/bin/paved":               func(h *tar.Header) bool { return h.Mode&0o111 != 0 && h.Uid == 0 },
		"etc/ssl/certs/ca-certificates.crt": func(h *tar.Header) bool { return h.Size > 1000 },
		"tmp/":                              func(h *tar.Header) bool { return h.Mode&0o1777 == 0o1777 },
		"home/paved/":                       func(h *tar.Header) bool { return h.Uid == 65532 },
		"bin/sh":                            func(h *tar.Header) bool { return h.Typeflag == tar.TypeSymlink },
	} {
		h, ok := files[strings.TrimSuffix(name, "/")]
		if !ok {
			t.Errorf("the image has no /%s", name)
		} else if !check(h) {
			t.Errorf("/%s: mode %o, uid %d, size %d", name, h.Mode, h.Uid, h.Size)
		}
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil || !strings.Contains(string(passwd), "\npaved:x:65532:65532:") {
		t.Errorf("/etc/passwd names no paved user 65532 (%v):\n%s", err, passwd)
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the image's binaries run on linux/amd64 only")
	}
	out, err := exec.Command(filepath.Join(root, "usr", "local", "bin", "paved"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("the image's paved version: %v\n%s", err, out)
	}
	checkVersion(t, string(out), md)
	// The GitLab template's commit job runs in the image: its
	// SOURCE_DATE_EPOCH line, run by the image's sh, turns GitLab's
	// CI_COMMIT_TIMESTAMP (UTC) into the commit's seconds.
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "gitlab-ci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	line := ""
	for _, l := range strings.Split(string(tmpl), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "- SOURCE_DATE_EPOCH=") {
			line = strings.TrimPrefix(l, "- ")
		}
	}
	if line == "" {
		t.Fatal("examples/ci/gitlab-ci.yaml sets no SOURCE_DATE_EPOCH")
	}
	cmd := exec.Command(filepath.Join(root, "bin", "busybox"), "sh", "-c", line+"\necho \"$SOURCE_DATE_EPOCH\"")
	cmd.Env = []string{"PATH=" + filepath.Join(root, "bin"), "CI_COMMIT_TIMESTAMP=2026-12-08T01:02:03Z"}
	if err := os.Symlink("busybox", filepath.Join(root, "bin", "date")); err != nil {
		t.Fatal(err)
	}
	out, err = cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1796691723" {
		t.Errorf("the image's sh ran %q: %v, %q, want 1796691723", line, err, out)
	}
}

// extract writes the image's flattened file system under root (regular
// files only) and returns its headers by name.
func extract(t *testing.T, img v1.Image, root string) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestActionInstall runs the GitHub Action's install script
// (action/install.sh) against the snapshot served on 127.0.0.1 as a
// release: it installs the linux/amd64 paved, which runs; and a release
// whose checksums file does not match its archive is refused with nothing
// installed.
func TestActionInstall(t *testing.T) {
	d, md := dist(t)
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("installs the linux/amd64 archive")
	}
	tag := "v" + md.Version
	// A release as GitHub serves it: /TAG/<file>. The tampered release
	// serves another archive's bytes under the linux/amd64 name.
	mux := http.NewServeMux()
	mux.Handle("/good/"+tag+"/", http.StripPrefix("/good/"+tag+"/", http.FileServer(http.Dir(d))))
	mux.HandleFunc("/bad/"+tag+"/", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/bad/"+tag+"/")
		if strings.HasSuffix(name, "_linux_amd64.tar.gz") {
			// The archive with one byte changed.
			b, err := os.ReadFile(filepath.Join(d, filepath.Base(name)))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			b[len(b)-1] ^= 0xff
			w.Write(b)
			return
		}
		http.ServeFile(w, r, filepath.Join(d, filepath.Base(name)))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	install := func(release, dir string) (string, error) {
		cmd := exec.Command("bash", filepath.Join("..", "..", "action", "install.sh"))
		cmd.Env = append(os.Environ(), "PAVED_VERSION="+tag, "PAVED_DIR="+dir, "PAVED_BASE_URL="+base+"/"+release, "PAVED_OS=linux", "PAVED_ARCH=x86_64")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	dir := filepath.Join(t.TempDir(), "tool")
	out, err := install("good", dir)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	v, err := exec.Command(filepath.Join(dir, "paved"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("the installed paved: %v\n%s", err, v)
	}
	checkVersion(t, string(v), md)

	bad := filepath.Join(t.TempDir(), "tool")
	out, err = install("bad", bad)
	if err == nil || !strings.Contains(out, "::error title=paved install::") || !strings.Contains(out, "refused") {
		t.Errorf("a checksum mismatch was not refused (%v):\n%s", err, out)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a refused install wrote %s", bad)
	}
}
