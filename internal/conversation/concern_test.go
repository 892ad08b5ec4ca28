package conversation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/safety"
)

// worriedAssessor calls a message with "worried" in it a self-harm concern
// decided by the model, and asks the rules about anything else.
type worriedAssessor struct{ rules Assessor }

func (c worriedAssessor) Assess(text string) safety.Assessment {
	if !strings.Contains(text, "worried") {
		return c.rules.Assess(text)
	}
	return safety.Assessment{Tier: safety.TierConcern, Kind: safety.KindSelfHarm, Kinds: []safety.Kind{safety.KindSelfHarm},
		Why: "model", Score: 0.61, Lang: "en"}
}

// TestConcernAnswersThenChecksIn: a concern gets the ordinary reply first,
// then the check-in with the resources for its kind, and a concern ticket
// that nobody had to ask for, whatever a block says; the length limit and a
// block stop only the ordinary part.
func TestConcernAnswersThenChecksIn(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		text      string
		blocked   bool
		firstKind Kind
		firstText string
	}{
		{"answered", "answer please, I am worried about my friend", false, KindAnswer, ""},
		{"queued", "queue please, worried", false, KindInfo, "ready answer"},
		{"blocked", "answer please, worried", true, KindInfo, "not available"},
		{"too long", "worried " + strings.Repeat("long ", 500), false, KindInfo, "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, false)
			f.e.opts.Safety = worriedAssessor{f.e.opts.Safety}
			if c.blocked {
				f.st.Block(ctx, "h_c", time.Now().Add(time.Hour))
			}
			rs, err := f.e.Handle(ctx, Inbound{Handle: "h_c", Platform: "web", Text: c.text})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 2 {
				t.Fatalf("want the ordinary reply and the check-in, got %+v", rs)
			}
			if rs[0].Kind != c.firstKind || !strings.Contains(rs[0].Text, c.firstText) {
				t.Errorf("first reply %s %q, want %s containing %q", rs[0].Kind, rs[0].Text, c.firstKind, c.firstText)
			}
			if rs[1].Kind != KindCheckIn || !strings.Contains(rs[1].Text, "are you safe right now") || !strings.Contains(rs[1].Text, "team will also read") {
				t.Errorf("check-in = %s %q", rs[1].Kind, rs[1].Text)
			}
			if len(f.tickets.Opened) != 1 {
				t.Fatalf("%d tickets opened, want one concern ticket", len(f.tickets.Opened))
			}
			tk := f.tickets.Opened[0]
			if tk.Tier != "concern" || tk.Urgent || tk.Category != "self-harm" || tk.Why != "model 0.61" {
				t.Errorf("ticket tier %q urgent %v kind %q why %q", tk.Tier, tk.Urgent, tk.Category, tk.Why)
			}
			// The asker need not press Ask a therapist: it is already there.
			rs, err = f.e.Handle(ctx, Inbound{Handle: "h_c", Platform: "web", Action: ActionAskTherapist})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.tickets.Opened) != 1 || !strings.Contains(rs[0].Text, "already with the therapists") {
				t.Errorf("Ask a therapist after a concern: %d tickets, reply %q", len(f.tickets.Opened), rs[0].Text)
			}
		})
	}
}

// TestLongMessageStillReadBySafety: a story over the question limit is
// refused for matching, but safety reads it first, to its end.
func TestLongMessageStillReadBySafety(t *testing.T) {
	f := newFixture(t, true)
	story := strings.Repeat("we have been together for years and we argue about sex a lot. ", 45) + "tonight i am going to kill myself"
	if len(story) <= MaxQuestionRunes {
		t.Fatal("story too short for this test")
	}
	rs, err := f.e.Handle(context.Background(), Inbound{Handle: "h_long", Platform: "web", Text: story})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Kind != KindCrisis {
		t.Fatalf("first reply %s %q, want the crisis reply", rs[0].Kind, rs[0].Text)
	}
	if len(f.tickets.Opened) != 1 || !f.tickets.Opened[0].Urgent {
		t.Fatalf("tickets %+v, want one urgent", f.tickets.Opened)
	}
}

// TestWhy: the reason staff see names the rule or the model, and says
// when the model softened a soft rule's urgent.
func TestWhy(t *testing.T) {
	for _, c := range []struct {
		a    safety.Assessment
		want string
	}{
		{safety.Assessment{Why: "model", Score: 0.734}, "model 0.73"},
		{safety.Assessment{Why: "sh-plan"}, "sh-plan"},
		{safety.Assessment{Why: "sh-want-to-die", Softened: true, Score: 0.021}, "sh-want-to-die softened by model 0.02"},
	} {
		if got := why(c.a); got != c.want {
			t.Errorf("why(%+v) = %q, want %q", c.a, got, c.want)
		}
	}
}
