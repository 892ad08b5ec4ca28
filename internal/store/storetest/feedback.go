package storetest

import (
	"time"

	"github.com/candid-app/candid/internal/store"
)

func testFeedback(e *env) {
	today := time.Now().UTC()
	day := func(ago int) string { return today.Add(-time.Duration(ago) * 24 * time.Hour).Format(time.DateOnly) }
	for _, c := range []store.FeedbackCount{
		{Day: day(0), FAQID: "condoms", Event: "shown", N: 1},
		{Day: day(0), FAQID: "condoms", Event: "shown", N: 2},
		{Day: day(0), FAQID: "condoms", Event: "helpful", N: 1},
		{Day: day(1), FAQID: "condoms", Event: "shown", N: 5},
		{Day: day(10), FAQID: "pep", Event: "not_helpful", N: 1},
	} {
		ok(e.t, e.s.AddFeedback(e.ctx, c))
	}
	sum := func(since string) map[string]int64 {
		got, err := e.s.Feedback(e.ctx, since)
		ok(e.t, err)
		m := map[string]int64{}
		for _, c := range got {
			m[c.Day+" "+c.FAQID+" "+c.Event] += c.N
		}
		return m
	}
	all := sum(day(30))
	want := map[string]int64{
		day(0) + " condoms shown": 3, day(0) + " condoms helpful": 1,
		day(1) + " condoms shown": 5, day(10) + " pep not_helpful": 1,
	}
	if len(all) != len(want) {
		e.t.Errorf("Feedback = %v, want %v", all, want)
	}
	for k, n := range want {
		if all[k] != n {
			e.t.Errorf("%s = %d, want %d (all: %v)", k, all[k], n, all)
		}
	}
	if recent := sum(day(1)); len(recent) != 3 || recent[day(10)+" pep not_helpful"] != 0 {
		e.t.Errorf("Feedback since yesterday = %v", recent)
	}
	for _, bad := range []store.FeedbackCount{
		{Day: "yesterday", FAQID: "x", Event: "shown", N: 1},
		{Day: day(0), FAQID: "", Event: "shown", N: 1},
		{Day: day(0), FAQID: "x", Event: "", N: 1},
		{Day: day(0), FAQID: "x\x00y", Event: "shown", N: 1},
		{Day: day(0), FAQID: "x", Event: "shown", N: -1},
	} {
		if err := e.s.AddFeedback(e.ctx, bad); err == nil {
			e.t.Errorf("AddFeedback(%+v) succeeded", bad)
		}
	}
}
