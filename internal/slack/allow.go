package slack

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Slack ID shapes. Users are U… (or W… on Enterprise Grid), user groups S…,
// channels C… (public), G… (private, older) and D… (direct messages).
var (
	userIDRE    = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	groupIDRE   = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
	channelIDRE = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)
	dmIDRE      = regexp.MustCompile(`^D[A-Z0-9]{2,20}$`)
	teamIDRE    = regexp.MustCompile(`^[TE][A-Z0-9]{2,20}$`)
)

// groupLister resolves a user group's members (usergroups.users.list).
type groupLister func(ctx context.Context, group string) ([]string, error)

// allowList decides who may act on tickets: listed users and members of
// listed user groups. It fails closed: an empty list allows nobody, and a
// group whose members cannot be fetched admits nobody until it can.
type allowList struct {
	users  map[string]bool
	groups []string
	ttl    time.Duration
	list   groupLister
	now    func() time.Time
	log    *slog.Logger

	mu    sync.Mutex
	cache map[string]groupMembers
}

type groupMembers struct {
	members map[string]bool
	at      time.Time
}

// parseModerators splits the configured IDs into users and groups.
func parseModerators(ids []string) (users map[string]bool, groups []string, err error) {
	users = map[string]bool{}
	for _, raw := range ids {
		for _, id := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
			switch {
			case userIDRE.MatchString(id):
				users[id] = true
			case groupIDRE.MatchString(id):
				groups = append(groups, id)
			default:
				return nil, nil, fmt.Errorf("slack: moderator %q is neither a user ID (U…/W…) nor a user-group ID (S…): copy the ID from the member's or group's profile in Slack", id)
			}
		}
	}
	return users, groups, nil
}

func (l *allowList) empty() bool { return len(l.users) == 0 && len(l.groups) == 0 }

// allowed reports whether user may act on tickets.
func (l *allowList) allowed(ctx context.Context, user string) bool {
	if !userIDRE.MatchString(user) {
		return false
	}
	if l.users[user] {
		return true
	}
	for _, g := range l.groups {
		if l.inGroup(ctx, g, user) {
			return true
		}
	}
	return false
}

func (l *allowList) inGroup(ctx context.Context, group, user string) bool {
	now := l.now()
	l.mu.Lock()
	c, ok := l.cache[group]
	l.mu.Unlock()
	if ok && now.Sub(c.at) < l.ttl {
		return c.members[user]
	}
	ids, err := l.list(ctx, group)
	if err != nil {
		// Fail closed: a stale list could still admit someone who was
		// removed, so nobody is admitted through this group until Slack
		// answers again.
		l.log.WarnContext(ctx, "slack: cannot list the moderator user group; its members cannot act until it can be read (check the usergroups:read scope)", "group", group, "err", err)
		return false
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	l.mu.Lock()
	l.cache[group] = groupMembers{members: m, at: now}
	l.mu.Unlock()
	return m[user]
}
