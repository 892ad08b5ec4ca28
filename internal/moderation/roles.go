package moderation

// Staff roles. Every role may work the queue; the console limits staff
// management to admins and FAQ drafting to curators and admins.
const (
	RoleModerator = "moderator"
	RoleCurator   = "curator"
	RoleAdmin     = "admin"
)

// ValidRole reports whether role is one of the staff roles.
func ValidRole(role string) bool {
	switch role {
	case RoleModerator, RoleCurator, RoleAdmin:
		return true
	}
	return false
}
