package match

import (
	"os/exec"
	"strings"
	"testing"
)

// The bleve baseline is behind the bleve build tag: the candid binary must
// not link it (about 20 modules and 25 MB).
func TestBinaryDoesNotLinkBleve(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", "../../cmd/candid").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "blevesearch") {
			t.Fatalf("cmd/candid depends on %s without the bleve tag", line)
		}
	}
}
