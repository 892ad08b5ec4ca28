package main

import (
	"github.com/candid-app/candid/internal/console"
	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/safety"
	"github.com/candid-app/candid/internal/store"
)

// crisisGuide gives the console's crisis panel its words from the live
// safety resources, for the clinic's region.
type crisisGuide struct {
	lib    *content.Live
	region string
}

var _ console.CrisisGuide = crisisGuide{}

// Shown is the crisis reply the engine gave for the ticket's tier and kind
// (the engine renders it the same way, from the same resources).
func (g crisisGuide) Shown(t store.Ticket) string {
	kind, _ := safety.ParseKind(t.Category)
	a := safety.Assessment{Tier: safety.TierConcern, Kind: kind, Lang: t.Locale}
	if t.SafetyRank() == store.RankUrgent {
		a.Tier, a.Crisis = safety.TierUrgent, true
	}
	if kind != safety.KindNone {
		a.Kinds = []safety.Kind{kind}
	}
	return g.lib.Message(g.region, a)
}

// SafetyCheck is the clinic's safety-check reply for the ticket's kind.
func (g crisisGuide) SafetyCheck(t store.Ticket) string {
	kind, _ := safety.ParseKind(t.Category)
	return g.lib.SafetyCheck(g.region, kind, t.Locale)
}
