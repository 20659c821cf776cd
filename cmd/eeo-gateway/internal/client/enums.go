package client

import (
	"slices"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// Enum prefixes, dropped for display and accepted-or-not in flags, so an
// operator types "completed", not "IMPORT_STATE_COMPLETED".
const (
	importStatePrefix  = "IMPORT_STATE_"
	reportStatePrefix  = "REPORT_STATE_"
	reportFormatPrefix = "REPORT_FORMAT_"
)

func importStateText(s eeov1.ImportState) string {
	return strings.TrimPrefix(s.String(), importStatePrefix)
}

func reportStateText(s eeov1.ReportState) string {
	return strings.TrimPrefix(s.String(), reportStatePrefix)
}

func reportFormatText(f eeov1.ReportFormat) string {
	return strings.TrimPrefix(f.String(), reportFormatPrefix)
}

// parseEnum reads a flag value such as "completed" as the enum value
// PREFIX+"COMPLETED"; "" is the zero value (unspecified).
func parseEnum(flag, value, prefix string, values map[string]int32) (int32, error) {
	if value == "" {
		return 0, nil
	}
	name := strings.ToUpper(value)
	if !strings.HasPrefix(name, prefix) {
		name = prefix + name
	}
	if v, ok := values[name]; ok && v != 0 {
		return v, nil
	}
	var valid []string
	for n, v := range values {
		if v != 0 {
			valid = append(valid, strings.ToLower(strings.TrimPrefix(n, prefix)))
		}
	}
	slices.Sort(valid)
	return 0, exitcode.Usagef("--%s: %q is not one of %s", flag, value, strings.Join(valid, ", "))
}
