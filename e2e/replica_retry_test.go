package e2e_test

import (
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// A CreateImport retried on another replica (or on a restarted one) is
// not in that replica's request log, so it reaches EEO, which recognises
// the Idempotency-Key. With expected_sha256 declared, EEO answers with the
// original import before reading the body. That import holds exactly the
// declared bytes: the retry must return it, and must not mistake the early
// answer for EEO holding different bytes and cancel the import the first
// caller was told succeeded.
func TestImportRetriedOnAnotherReplicaReturnsTheOriginalUncancelled(t *testing.T) {
	replicas := newReplicas(t, stackOptions{Sandbox: sandbox.Options{StepDuration: time.Hour}}, 2)
	const requestID = "replica-retry-1"
	file := participantsFile(256<<10, "retry")
	md := &eeov1.ImportMetadata{ImportType: "participants", FileName: "retry.csv", RequestId: requestID, ExpectedSha256: sha256Hex(file)}

	first, err := replicas[0].upload(t.Context(), md, file, 32<<10)
	if err != nil {
		t.Fatalf("first upload: %v", err)
	}
	retry, err := replicas[1].upload(t.Context(), md, file, 32<<10)
	if err != nil || retry.GetImportId() != first.GetImportId() {
		t.Fatalf("retry on the other replica: import %q, %v; want import %s", retry.GetImportId(), err, first.GetImportId())
	}
	got, err := replicas[0].files.GetImport(t.Context(), &eeov1.GetImportRequest{Account: account, ImportId: first.GetImportId()})
	if err != nil {
		t.Fatal(err)
	}
	if st := got.GetDataImport().GetState(); st == eeov1.ImportState_IMPORT_STATE_CANCELLED {
		t.Fatalf("the retry cancelled the original import (state %v)", st)
	}
	if n := replicas[0].sb.Stats().ImportsCreated; n != 1 {
		t.Fatalf("EEO created %d imports, want 1", n)
	}
}
