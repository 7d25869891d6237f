package schema

import "testing"

func TestInRange(t *testing.T) {
	for _, tc := range []struct {
		v, c string
		ok   bool
		bad  bool
	}{
		{"v0.1.0", ">=0.1.0 <0.2.0", true, false},
		{"v0.1.9", ">=0.1.0 <0.2.0", true, false},
		{"v0.2.0", ">=0.1.0 <0.2.0", false, false},
		{"v0.2.0-rc.1", ">=0.1.0 <0.2.0", false, false}, // a pre-release of 0.2.0 has its changes
		{"v0.2.0-rc.1", ">=0.2.0", true, false},
		{"v0.1.1-snapshot+abc", ">=0.1.0 <0.2.0", true, false},
		{"v0.2.0-rc.1", ">=0.2.0-rc.2", false, false}, // a pre-release bound compares pre-releases
		{"v0.1.0-rc.1", ">=0.1.0", true, false},
		{"v0.1.0", "0.1.0", true, false},
		{"v0.1.0", "=v0.1.0", true, false},
		{"v0.1.1", "<=0.1.0", false, false},
		{"v0.1.1", ">0.1.0", true, false},
		{"v0.1.0", "~0.1.0", false, true},
		{"v0.1.0", ">=x", false, true},
		{"v0.1.0", "", false, true},
	} {
		ok, err := inRange(tc.v, tc.c)
		if ok != tc.ok || (err != nil) != tc.bad {
			t.Errorf("inRange(%s, %q) = %v, %v; want %v, error %v", tc.v, tc.c, ok, err, tc.ok, tc.bad)
		}
	}
}
