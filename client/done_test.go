package client_test

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// Every state of the contract is classified: the final ones are exactly
// these, so WaitImport, WaitReport and the operator CLI stop on them and on
// nothing else.
func TestDoneStates(t *testing.T) {
	finalImports := map[eeov1.ImportState]bool{
		eeov1.ImportState_IMPORT_STATE_COMPLETED: true, eeov1.ImportState_IMPORT_STATE_FAILED: true, eeov1.ImportState_IMPORT_STATE_CANCELLED: true,
	}
	for v := range eeov1.ImportState_name {
		if s := eeov1.ImportState(v); client.ImportDone(s) != finalImports[s] {
			t.Errorf("ImportDone(%v) = %v", s, !finalImports[s])
		}
	}
	finalReports := map[eeov1.ReportState]bool{
		eeov1.ReportState_REPORT_STATE_SUCCEEDED: true, eeov1.ReportState_REPORT_STATE_FAILED: true, eeov1.ReportState_REPORT_STATE_CANCELLED: true,
	}
	for v := range eeov1.ReportState_name {
		if s := eeov1.ReportState(v); client.ReportDone(s) != finalReports[s] {
			t.Errorf("ReportDone(%v) = %v", s, !finalReports[s])
		}
	}
}
