package moderation

import (
	"context"
	"time"

	"github.com/candid-app/candid/internal/ratelimit"
)

// DraftCounter counts AI drafts over an hour: ratelimit.Window in memory,
// or redisstore.Window shared by replicas.
type DraftCounter interface {
	Count(ctx context.Context, key string) int
	Add(ctx context.Context, key string)
}

var _ DraftCounter = (*ratelimit.Window)(nil)

const draftKey = "drafts"

// allowDraft reports whether one more AI draft fits this hour's budget,
// and counts it when so. A ticket over the budget has no draft; the
// moderator writes the answer, as without an LLM.
func (s *Service) allowDraft(ctx context.Context) bool {
	if s.draftsPerHr < 0 {
		return true
	}
	s.draftOnce.Do(func() {
		if s.draftCount == nil {
			s.draftCount = ratelimit.NewWindow(time.Hour, s.now)
		}
	})
	if s.draftCount.Count(ctx, draftKey) >= s.draftsPerHr {
		s.log.Warn("moderation: AI draft skipped: the hourly draft budget is spent (drafts_per_hour)", "budget", s.draftsPerHr)
		return false
	}
	s.draftCount.Add(ctx, draftKey)
	return true
}
