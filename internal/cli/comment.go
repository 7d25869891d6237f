package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-github/v88/github"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diff"
	"github.com/paved-dev/paved/internal/gitsource"
)

type commentOptions struct {
	repo     string
	pr       int
	bodyFile string
	apiURL   string
	// previewFile is paved preview up's --out-file: the preview lines
	// the comment shows under its marker.
	previewFile string
}

func newCommentCmd(e *env) *cobra.Command {
	o := &commentOptions{}
	c := &cobra.Command{
		Use:   "comment --repo OWNER/NAME --pr N --body-file F",
		Short: "Create or update paved's one sticky comment on a pull request",
		Long: `comment posts the body (paved diff -o markdown output) on the pull request as
one sticky comment: it finds the comment that carries paved's marker (reading
every page of comments), updates it in place, or creates it. A comment
rendered for a newer head commit (one the body's commit is an ancestor of, in
the git repository of the working directory) is left alone. A body saying
"No rendered changes" replaces a stale diff like any other.

--preview-file adds the pull request's preview, as paved preview up wrote
it (--out-file), under the marker: each preview's URL, expiry and monthly
cost, or the reason it was refused.

The token comes from GITHUB_TOKEN; the API from --api-url, else
GITHUB_API_URL, else https://api.github.com/.

Exit codes: 0 posted (or left alone), 2 invalid input, 4 API error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			owner, name, ok := strings.Cut(o.repo, "/")
			if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
				return invalid("comment: --repo must be OWNER/NAME, got %q", o.repo)
			}
			if o.pr <= 0 {
				return invalid("comment: --pr must be a pull request number")
			}
			token := os.Getenv("GITHUB_TOKEN")
			if token == "" {
				return invalid("comment: GITHUB_TOKEN is not set")
			}
			p := o.bodyFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(e.cwd, p)
			}
			body, err := os.ReadFile(p)
			if err != nil {
				return invalid("comment: %v", err)
			}
			head, ours := diff.HeadOf(string(body))
			if !ours {
				return invalid("comment: %s does not start with paved's marker (write it with paved diff -o markdown)", o.bodyFile)
			}
			if o.previewFile != "" {
				line, err := os.ReadFile(absPath(e, o.previewFile))
				if err != nil {
					return invalid("comment: %v", err)
				}
				body = withPreview(body, line)
			}
			client, err := githubClient(token, o.apiURL)
			if err != nil {
				return invalid("comment: %v", err)
			}
			res, err := stickyComment(context.Background(), client, owner, name, o.pr, string(body), head, e.cwd)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("comment: %w", err)}
			}
			fmt.Fprintln(e.stdout, res)
			return nil
		},
	}
	c.Flags().StringVar(&o.repo, "repo", "", "repository OWNER/NAME (required)")
	c.Flags().IntVar(&o.pr, "pr", 0, "pull request number (required)")
	c.Flags().StringVar(&o.bodyFile, "body-file", "", "comment body, as paved diff -o markdown writes it (required)")
	c.Flags().StringVar(&o.previewFile, "preview-file", "", "preview lines to show at the top of the comment (paved preview up --out-file): URL, expiry and cost, or why there is no preview")
	c.Flags().StringVar(&o.apiURL, "api-url", "", "GitHub API base URL (default GITHUB_API_URL, else https://api.github.com/)")
	return c
}

// stickyComment updates paved's comment on the pull request or creates it,
// unless the existing one was rendered for a newer head commit.
func stickyComment(ctx context.Context, c *github.Client, owner, repo string, pr int, body, head, dir string) (string, error) {
	var found *github.IssueComment
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for found == nil {
		list, resp, err := c.Issues.ListComments(ctx, owner, repo, pr, opt)
		if err != nil {
			return "", err
		}
		for _, cm := range list {
			if _, ok := diff.HeadOf(cm.GetBody()); ok {
				found = cm
				break
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if found == nil {
		cm, _, err := c.Issues.CreateComment(ctx, owner, repo, pr, &github.IssueComment{Body: &body})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("created comment %d on %s/%s#%d", cm.GetID(), owner, repo, pr), nil
	}
	theirs, _ := diff.HeadOf(found.GetBody())
	if head != "" && theirs != "" && theirs != head && gitsource.IsAncestor(dir, head, theirs) {
		return fmt.Sprintf("left comment %d alone: it was rendered for %s, newer than %s", found.GetID(), short(theirs), short(head)), nil
	}
	if found.GetBody() == body {
		return fmt.Sprintf("comment %d is up to date", found.GetID()), nil
	}
	if _, _, err := c.Issues.EditComment(ctx, owner, repo, found.GetID(), &github.IssueComment{Body: &body}); err != nil {
		return "", err
	}
	return fmt.Sprintf("updated comment %d on %s/%s#%d", found.GetID(), owner, repo, pr), nil
}

func short(sha string) string { return sha[:min(12, len(sha))] }
