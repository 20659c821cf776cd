package server_test

import (
	"os/exec"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The contract review of proto/ (issue: a contract fit for every language),
// kept as tests so a later change cannot quietly undo it.

// reservedWords are the keywords (reserved, contextual and soft) of the
// languages internal teams generate clients in. A proto name equal to one
// of them is awkward or impossible to use there (AIP-140), even where the
// generator mangles it (Go's Import field, Python's getattr(resp, "import")).
var reservedWords = wordSet(
	// Go
	"break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var",
	// Python, with soft keywords
	"False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type",
	// Java, with contextual keywords
	"abstract assert boolean break byte case catch char class const continue default do double else enum extends final finally float for goto if implements import instanceof int interface long native new package private protected public return short static strictfp super switch synchronized this throw throws transient try void volatile while true false null var yield record sealed permits",
	// C#
	"abstract as base bool break byte case catch char checked class const continue decimal default delegate do double else enum event explicit extern false finally fixed float for foreach goto if implicit in int interface internal is lock long namespace new null object operator out override params private protected public readonly ref return sbyte sealed short sizeof stackalloc static string struct switch this throw true try typeof uint ulong unchecked unsafe ushort using virtual void volatile while",
	// TypeScript and JavaScript, with strict-mode and contextual keywords
	"break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with implements interface let package private protected public static yield any boolean constructor declare get module require number set string symbol type from of as async await",
)

// pythonBuiltins are Python's capitalised built-in names: a message named
// like one shadows it in a module that imports the message by name
// (`from ..._pb2 import ImportError` breaks `except ImportError`).
var pythonBuiltins = wordSet("ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError BrokenPipeError BufferError BytesWarning ChildProcessError ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception ExceptionGroup FileExistsError FileNotFoundError FloatingPointError FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError IndexError InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ModuleNotFoundError NameError NotADirectoryError NotImplemented NotImplementedError OSError OverflowError PendingDeprecationWarning PermissionError ProcessLookupError RecursionError ReferenceError ResourceWarning RuntimeError RuntimeWarning StopAsyncIteration StopIteration SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError TypeError UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ValueError Warning ZeroDivisionError")

func wordSet(lists ...string) map[string]bool {
	set := map[string]bool{}
	for _, l := range lists {
		for _, w := range strings.Fields(l) {
			set[w] = true
		}
	}
	return set
}

var apiFiles = []protoreflect.FileDescriptor{
	eeov1.File_eeo_v1_token_service_proto,
	eeov1.File_eeo_v1_import_report_service_proto,
}

func eachMessage(f func(protoreflect.MessageDescriptor)) {
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			if ms.Get(i).IsMapEntry() {
				continue
			}
			f(ms.Get(i))
			walk(ms.Get(i).Messages())
		}
	}
	for _, file := range apiFiles {
		walk(file.Messages())
	}
}

func TestNoNameIsAReservedWord(t *testing.T) {
	check := func(kind string, name protoreflect.Name, full protoreflect.FullName) {
		if reservedWords[string(name)] {
			t.Errorf("%s %s: %q is a reserved word in Go, Python, Java, C# or TypeScript", kind, full, name)
		}
	}
	eachMessage(func(m protoreflect.MessageDescriptor) {
		check("message", m.Name(), m.FullName())
		if pythonBuiltins[string(m.Name())] {
			t.Errorf("message %s shadows Python's built-in %s", m.FullName(), m.Name())
		}
		for i := range m.Fields().Len() {
			fd := m.Fields().Get(i)
			check("field", fd.Name(), fd.FullName())
			check("JSON name of field", protoreflect.Name(fd.JSONName()), fd.FullName())
		}
		for i := range m.Oneofs().Len() {
			check("oneof", m.Oneofs().Get(i).Name(), m.Oneofs().Get(i).FullName())
		}
	})
	for _, file := range apiFiles {
		for i := range file.Services().Len() {
			s := file.Services().Get(i)
			for j := range s.Methods().Len() {
				check("method", s.Methods().Get(j).Name(), s.Methods().Get(j).FullName())
			}
		}
	}
}

// TestEveryFieldHasAFieldBehavior: generators and readers learn from
// google.api.field_behavior which fields a caller sets and which the
// gateway does (AIP-203); a field without one leaves them guessing.
func TestEveryFieldHasAFieldBehavior(t *testing.T) {
	eachMessage(func(m protoreflect.MessageDescriptor) {
		for i := range m.Fields().Len() {
			fd := m.Fields().Get(i)
			behaviors, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
			if len(behaviors) == 0 {
				t.Errorf("%s has no google.api.field_behavior", fd.FullName())
				continue
			}
			name := string(m.Name())
			for _, b := range behaviors {
				switch {
				case strings.HasSuffix(name, "Response") && b != annotations.FieldBehavior_OUTPUT_ONLY:
					t.Errorf("%s: %v in a response; want OUTPUT_ONLY", fd.FullName(), b)
				case (strings.HasSuffix(name, "Request") || name == "ImportMetadata") && b == annotations.FieldBehavior_OUTPUT_ONLY:
					t.Errorf("%s: OUTPUT_ONLY in a request", fd.FullName())
				}
			}
		}
	})
}

// TestEveryListMethodPages: pagination added later is a breaking change
// (AIP-158), so every List method has it from the start.
func TestEveryListMethodPages(t *testing.T) {
	lists := 0
	for _, file := range apiFiles {
		for i := range file.Services().Len() {
			s := file.Services().Get(i)
			for j := range s.Methods().Len() {
				md := s.Methods().Get(j)
				if !strings.HasPrefix(string(md.Name()), "List") {
					continue
				}
				lists++
				in, out := md.Input().Fields(), md.Output().Fields()
				if f := in.ByName("page_size"); f == nil || f.Kind() != protoreflect.Int32Kind {
					t.Errorf("%s: request has no int32 page_size", md.FullName())
				}
				if f := in.ByName("page_token"); f == nil || f.Kind() != protoreflect.StringKind {
					t.Errorf("%s: request has no string page_token", md.FullName())
				}
				if f := out.ByName("next_page_token"); f == nil || f.Kind() != protoreflect.StringKind {
					t.Errorf("%s: response has no string next_page_token", md.FullName())
				}
			}
		}
	}
	if lists != 6 {
		t.Errorf("found %d List methods; the walk is broken", lists)
	}
}

// TestStubsPullNoServerDependencies: an internal service that imports the
// generated stubs gets protobuf, gRPC and the google/api types — not
// grpc-gateway (its code is in gen/gateway) and nothing of the gateway
// itself; the stubs are a module of their own (gen/eeo/go.mod) so the
// server's other requirements do not reach the caller's build either.
func TestStubsPullNoServerDependencies(t *testing.T) {
	const stubs = "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	out, err := exec.Command("go", "list", "-deps", stubs).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", stubs, err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "grpc-gateway") || strings.HasPrefix(pkg, "github.com/eeo-gateway/eeo-gateway/") && pkg != stubs {
			t.Errorf("the stubs pull in %s", pkg)
		}
	}
	mod, err := exec.Command("go", "list", "-f", "{{.Module.Path}} {{.Module.Dir}}", stubs).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(mod), "github.com/eeo-gateway/eeo-gateway/gen/eeo ") {
		t.Errorf("the stubs' module: %s (%v); want github.com/eeo-gateway/eeo-gateway/gen/eeo", mod, err)
	}
}
