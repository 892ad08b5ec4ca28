package safety

import "slices"

// Kind is the kind of danger an assessment points to. Each kind has its own
// reply and its own resources per region (a rape crisis line is not a
// suicide line, and a person worried about their own urges is never sent to
// a child helpline).
type Kind string

const (
	KindNone             Kind = ""
	KindSuicide          Kind = "suicide"
	KindSelfHarm         Kind = "self-harm"
	KindAssault          Kind = "sexual-assault-recent"
	KindChildAbuse       Kind = "child-abuse"
	KindChildUrges       Kind = "child-urges"
	KindSextortion       Kind = "sextortion"
	KindPartnerViolence  Kind = "partner-violence"
	KindMedicalEmergency Kind = "medical-emergency"
	KindTrafficking      Kind = "trafficking"
)

// Kinds lists every kind, in the order replies present them when several
// fire.
func Kinds() []Kind {
	return []Kind{KindSuicide, KindSelfHarm, KindMedicalEmergency, KindAssault, KindChildAbuse, KindChildUrges,
		KindSextortion, KindPartnerViolence, KindTrafficking}
}

// ParseKind returns the kind named s, or false.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds() {
		if string(k) == s {
			return k, true
		}
	}
	return KindNone, false
}

// Tier says how soon a person must see a message.
type Tier string

const (
	// TierNone: an ordinary question.
	TierNone Tier = "none"
	// TierConcern: a possible danger, a danger told about someone else, or
	// one asked as a question. The reply answers what it can, then checks
	// in and gives the resources for the kind; a ticket flagged concern is
	// opened without the asker pressing anything.
	TierConcern Tier = "concern"
	// TierUrgent: a present danger. The resources come first and an urgent
	// ticket is opened.
	TierUrgent Tier = "urgent"
)

// rank orders tiers so that the higher one wins when rules and the model
// disagree.
func (t Tier) rank() int {
	switch t {
	case TierUrgent:
		return 2
	case TierConcern:
		return 1
	}
	return 0
}

// categoryKind is the kind a rule of a category points to when the rule
// names none of its own.
func categoryKind(c Category) Kind {
	switch c {
	case SelfHarm:
		return KindSuicide
	case Assault:
		return KindAssault
	case MinorAtRisk:
		return KindChildAbuse
	case Violence:
		return KindPartnerViolence
	case MedicalEmergency:
		return KindMedicalEmergency
	}
	return KindNone
}

// fromSignals sets the tier, kinds and reason from the rules that fired:
// the highest tier wins, and the first rule of that tier names the kind.
func (a *Assessment) fromSignals() {
	for _, s := range a.Signals {
		if s.Tier.rank() > a.Tier.rank() {
			a.Tier, a.Kind, a.Why = s.Tier, s.Kind, s.Rule
		}
	}
	if a.Tier == "" {
		a.Tier = TierNone
	}
	a.Kinds = a.Kinds[:0]
	if a.Kind != KindNone {
		a.Kinds = append(a.Kinds, a.Kind)
	}
	for _, s := range a.Signals {
		if !slices.Contains(a.Kinds, s.Kind) {
			a.Kinds = append(a.Kinds, s.Kind)
		}
	}
	a.Crisis = a.Tier == TierUrgent
}
