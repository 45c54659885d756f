package teams

import (
	"fmt"
	"path"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// validRelease re-checks what Parse promises about a usable release.
func validRelease(name string, r Release) error {
	if err := artifact.CheckName(name); err != nil {
		return err
	}
	if err := artifact.CheckVersion(r.Version); err != nil {
		return err
	}
	if path.IsAbs(r.Source) || path.Clean(r.Source) != r.Source || strings.HasPrefix(r.Source, "..") {
		return fmt.Errorf("source %q escapes", r.Source)
	}
	return nil
}
