package cli

import (
	"testing"
	"time"

	"github.com/paved-dev/paved/schema"
)

// TestPreviewExpiry: a preview expires ttl after its last push, and at
// the latest maxLifetime after it was created, computed from the record
// alone (gc's and ls's clock is an input).
func TestPreviewExpiry(t *testing.T) {
	pv := schema.Previews{TTL: "72h", MaxLifetime: "336h"}
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		lastPush time.Time
		want     time.Time
		why      string
	}{
		{created, created.Add(72 * time.Hour), "TTL 72h since the last push"},
		{created.Add(100 * time.Hour), created.Add(172 * time.Hour), "TTL 72h since the last push"},
		// pushed every day: the maximum lifetime ends it
		{created.Add(300 * time.Hour), created.Add(336 * time.Hour), "maximum lifetime 336h"},
	} {
		r := &previewRecord{Created: created, LastPush: c.lastPush}
		got, why, err := r.expiry(pv)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(c.want) || why != c.why {
			t.Errorf("last push %s: expires %s (%s), want %s (%s)", c.lastPush, got, why, c.want, c.why)
		}
		// one second before it is live, at it expired (gc's test)
		if !c.want.Add(-time.Second).Before(got) || c.want.Before(got) {
			t.Errorf("expiry boundary wrong: %s", got)
		}
	}
	if _, _, err := (&previewRecord{}).expiry(schema.Previews{TTL: "3 days", MaxLifetime: "1h"}); err == nil {
		t.Error("a TTL that is no duration was accepted")
	}
}

// TestWithPreview: paved comment puts the preview lines right under its
// marker.
func TestWithPreview(t *testing.T) {
	body := "<!-- paved:diff head=abc -->\n#### Summary\n"
	got := string(withPreview([]byte(body), []byte("**Preview** (PR #7)\n- payments/checkout: https://x\n\n")))
	want := "<!-- paved:diff head=abc -->\n**Preview** (PR #7)\n- payments/checkout: https://x\n\n#### Summary\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := string(withPreview([]byte(body), nil)); got != body {
		t.Errorf("no preview changed the body: %q", got)
	}
}
