package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/bench/stats"
)

func ms(vs ...float64) stats.Summary { return stats.Of(vs) }

func sample() *Results {
	return &Results{
		Baseline: "abc1234",
		Hook: []HookRow{
			{Ports: 10, NICs: 4, Variant: VariantCommit, Start: ms(6, 7, 8), RSS: ms(12)},
			{Ports: 10, NICs: 4, Variant: VariantApplied, Start: ms(20, 21, 22), RSS: ms(16)},
			{Ports: 2000, NICs: 4, Variant: VariantCommit, Start: ms(9, 10, 11), RSS: ms(12)},
			{Ports: 2000, NICs: 4, Variant: VariantApplied, Start: ms(150, 160, 170), RSS: ms(17)},
			{Ports: 2000, NICs: 4, Variant: VariantApplied + BeforeSuffix, Start: ms(500), RSS: ms(40)},
		},
		Plug: []PlugRow{
			{Ports: 10, NICs: 4, OVSLibvirt: ms(50), OVSHostnet: ms(21), StartLibvirt: ms(460), StartHostnet: ms(450)},
			{Ports: 2000, NICs: 4, OVSLibvirt: ms(1400), OVSHostnet: ms(160), StartLibvirt: ms(2200), StartHostnet: ms(700)},
		},
		Hostprep: &Hostprep{Gap: ms(20, 30, 60), Converged: ms(5, 6), FreshApply: ms(150)},
	}
}

func TestTargets(t *testing.T) {
	got := map[string]Target{}
	for _, tg := range sample().Targets() {
		got[tg.What] = tg
	}
	want := map[string]string{
		"whole process, up to the OVSDB commit, 2,000": Pass, // 10 ms
		"2,000 ports against 10 ports":                 Pass, // 10/7 = 1.43
		"2,000 other ports":                            Pass, // 1400/160 = 8.75
		"10 other ports":                               Pass, // 50/21
		"connectivity gap":                             Miss, // worst 60
		"already configured host":                      Pass, // 5.5 ms, no changes
		"peak memory":                                  Pass, // 17 MiB; the before build's 40 does not count
	}
	for frag, verdict := range want {
		found := false
		for what, tg := range got {
			if strings.Contains(what, frag) {
				found = true
				if tg.Verdict != verdict {
					t.Errorf("%q: %s (%s), want %s", what, tg.Verdict, tg.Measured, verdict)
				}
			}
		}
		if !found {
			t.Errorf("no target mentions %q", frag)
		}
	}
}

func TestTargetsNotMeasured(t *testing.T) {
	for _, tg := range (&Results{}).Targets() {
		if tg.Verdict != NotMeasured || tg.Measured != "—" {
			t.Errorf("%q on empty results: %s %s", tg.What, tg.Verdict, tg.Measured)
		}
	}
}

func TestMarkdownAndTable(t *testing.T) {
	r := sample()
	EngineChanges = []string{"one transaction"}
	var md, tbl bytes.Buffer
	r.Markdown(&md)
	r.Table(&tbl)
	for _, want := range []string{
		"## Targets", "**MISS**", "| 2,000 | 4 | 10.0 (9.0–11.0, n=3) | 160.0 (150.0–170.0, n=3) |",
		"## 4. Engine changes", "built from abc1234", "| 2,000 | 4 | applied | 500.0 (500.0–500.0, n=1) | 160.0 (150.0–170.0, n=3) | 3.1× |",
		"## 5. Should the hook wait",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if !strings.Contains(tbl.String(), "MISS") || !strings.Contains(tbl.String(), "8.8×") {
		t.Errorf("table:\n%s", tbl.String())
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{10: "10", 500: "500", 2000: "2,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q", n, got)
		}
	}
}
