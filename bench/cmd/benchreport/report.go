package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
	"github.com/eeo-gateway/eeo-gateway/internal/filebench"
)

// report collects one run's measurements.
type report struct {
	cfg      config
	started  time.Time
	elapsed  time.Duration
	machine  machine
	commands []string
	failures []string

	workDir, binary string

	cacheHit        map[string]benchResult
	bytesPerAccount float64
	bytesPerRecord  float64
	load            []loadRound
	stampedeFirst   loadgen.Result // the fresh process's first burst
	stampedeRounds  []stampedeRound
	stampedeCold    loadgen.Result // the judged round's (see judgeStampede)
	stampedeWarm    loadgen.Result
	stampedeFetches int64
	files           []filebench.Result
	gatewayRSS      int64
	soakHeapMiB     float64 // the gateway's live heap after the soak
	soakSummary     string  // the soak's own summary
}

// row is one line of the summary table.
type row struct {
	target, what, goal, measured string
	status                       status
}

type status int

const (
	notMeasured status = iota
	met
	notMet
	reported // the issue asks for a number, not a bound
)

func (s status) String() string {
	switch s {
	case met:
		return "met"
	case notMet:
		return "**not met yet**"
	case reported:
		return "measured"
	}
	return "not measured"
}

func check(ok bool) status {
	if ok {
		return met
	}
	return notMet
}

func (r *report) rows() []row {
	var rows []row

	if h := r.cacheHit; h != nil {
		ours, oauth, google := h[cacheOurs], h[cacheOAuth2], h[cacheGoogle]
		ratio, gratio := oauth["ns/op"]/ours["ns/op"], google["ns/op"]/ours["ns/op"]
		rows = append(rows, row{"1", "Token-cache hit, `b.RunParallel`, vs x/oauth2 `ReuseTokenSource`",
			"≥ 5× faster, 0 allocs/op",
			fmt.Sprintf("**%.1f×** (%.1f ns vs %.1f ns), %g allocs/op; vs cloud.google.com/go/auth %.1f× (%.1f ns)",
				ratio, ours["ns/op"], oauth["ns/op"], ours["allocs/op"], gratio, google["ns/op"]),
			check(ratio >= 5 && ours["allocs/op"] == 0)})
	} else {
		rows = append(rows, row{"1", "Token-cache hit vs x/oauth2", "≥ 5× faster, 0 allocs/op", "failed to run", notMeasured})
	}

	if len(r.load) > 0 {
		// Row 3 too judges the round with the median REST/gRPC ratio, and
		// gives the other REST clients' ratios from that same round.
		k, m := medianRatioRound(r.load, func(l loadRound) float64 { return l.restToken.PerSecond() / l.grpcToken.PerSecond() })
		grpcTok, restTok := m.grpcToken.PerSecond(), m.restToken.PerSecond()
		others := ""
		if m.restNetHTTP.Calls > 0 {
			std := m.restNetHTTP.PerSecond()
			others += fmt.Sprintf("; from Go's net/http client: %.2f× (%.0f/s)", std/grpcTok, std)
		}
		if m.restH2Token.Calls > 0 {
			h2 := m.restH2Token.PerSecond()
			others += fmt.Sprintf("; over HTTP/2 (h2c, one connection): %.2f× (%.0f/s)", h2/grpcTok, h2)
		}
		cpu := ""
		if m.restToken.ServerCPU > 0 && m.grpcToken.ServerCPU > 0 {
			cpu = fmt.Sprintf("; gateway CPU/call %s vs %s", cpuUS(m.restToken.ServerCPU, m.restToken.ServerCPUPerCall()),
				cpuUS(m.grpcToken.ServerCPU, m.grpcToken.ServerCPUPerCall()))
		}
		// Row 2 compares calls measured back to back in one round, so a
		// round whose share of the machine changed halfway shows as an
		// outlier ratio: the round with the median ratio is judged.
		i, j := medianRatioRound(r.load, func(l loadRound) float64 { return l.grpcToken.PerSecond() / l.health.PerSecond() })
		rows = append(rows,
			row{"2", "gRPC GetToken vs `grpc.health.v1.Health/Check`, same server, production defaults",
				"≥ 0.95×", fmt.Sprintf("**%.2f×** (round %d of %d, the median ratio: %.0f/s vs %.0f/s, c=%d)",
					j.grpcToken.PerSecond()/j.health.PerSecond(), i+1, len(r.load), j.grpcToken.PerSecond(), j.health.PerSecond(), r.cfg.concurrency),
				check(j.grpcToken.PerSecond()/j.health.PerSecond() >= 0.95)},
			row{"3", "REST GetToken vs gRPC GetToken", "≥ 0.9×",
				fmt.Sprintf("**%.2f×** (round %d of %d, the median ratio; HTTP/1.1, wrk-class client, %.0f/s vs %.0f/s%s)%s",
					restTok/grpcTok, k+1, len(r.load), restTok, grpcTok, cpu, others), check(restTok/grpcTok >= 0.9)})
	} else {
		rows = append(rows, row{"2", "gRPC GetToken vs Health/Check", "≥ 0.95×", "failed to run", notMeasured},
			row{"3", "REST GetToken vs gRPC GetToken", "≥ 0.9×", "failed to run", notMeasured})
	}

	if r.stampedeCold.Calls > 0 {
		cold, warm := r.stampedeCold.Quantile(0.99), r.stampedeWarm.Quantile(0.99)
		rows = append(rows, row{"4", fmt.Sprintf("Stampede: %d concurrent GetToken, cold cache, EEO token latency %v", r.cfg.stampede, stampedeLatency),
			"exactly 1 upstream fetch; p99 ≤ 60 ms + warm p99",
			fmt.Sprintf("**%d fetch(es)** per cold burst; median of %d rounds: cold p50 %v p99 %v; warm p50 %v p99 %v (**cold − warm p99: %v**; a fresh process's first burst: p99 %v)",
				r.stampedeFetches, len(r.stampedeRounds),
				ms(r.stampedeCold.Quantile(0.5)), ms(cold), ms(r.stampedeWarm.Quantile(0.5)), ms(warm), ms(cold-warm), ms(r.stampedeFirst.Quantile(0.99))),
			check(r.stampedeFetches == 1 && cold <= 60*time.Millisecond+warm && r.stampedeCold.Errors == 0)})
	} else {
		rows = append(rows, row{"4", "Stampede", "exactly 1 upstream fetch; p99 ≤ 60 ms + warm p99", "failed to run", notMeasured})
	}

	byName := map[string]filebench.Result{}
	for _, f := range r.files {
		byName[f.Name] = f
	}
	for _, pair := range []struct{ via, direct string }{
		{filebench.UploadGRPC, filebench.UploadDirect}, {filebench.UploadREST, filebench.UploadDirect},
		{filebench.DownloadGRPC, filebench.DownloadDirect}, {filebench.DownloadREST, filebench.DownloadDirect},
	} {
		via, okv := byName[pair.via]
		direct, okd := byName[pair.direct]
		what := fmt.Sprintf("%s through the gateway vs direct (%s)", pair.via, sizeString(r.cfg.size))
		if !okv || !okd || via.Err != nil || direct.Err != nil {
			rows = append(rows, row{"5", what, "≥ 0.8×", "failed to run", notMeasured})
			continue
		}
		ratio := via.MiBPerSecond() / direct.MiBPerSecond()
		rows = append(rows, row{"5", what, "≥ 0.8×",
			fmt.Sprintf("**%.2f×** (%.0f MiB/s vs %.0f MiB/s)", ratio, via.MiBPerSecond(), direct.MiBPerSecond()), check(ratio >= 0.8)})
	}
	if r.gatewayRSS > 0 {
		mib := float64(r.gatewayRSS) / (1 << 20)
		rows = append(rows, row{"5", "Gateway peak RSS over those transfers", "≤ 64 MiB", fmt.Sprintf("**%.1f MiB**", mib), check(mib <= 64)})
	}

	if r.bytesPerRecord > 0 {
		rows = append(rows,
			row{"6", "Idempotency log, per request_id (log full: 100k ids)", "report", fmt.Sprintf("**%.0f bytes/record** (%.1f MiB for 100k)",
				r.bytesPerRecord, r.bytesPerRecord*100_000/(1<<20)), reported},
			row{"6", "Token cache, per account with a token cached", "report", fmt.Sprintf("**%.0f bytes/account**", r.bytesPerAccount), reported})
	} else {
		rows = append(rows, row{"6", "Idempotency log and token cache memory", "report", "failed to run", notMeasured})
	}
	if r.soakSummary != "" {
		rows = append(rows, row{"6", fmt.Sprintf("Gateway heap after `make soak SOAK_DURATION=%v` (sandbox storage excluded)", r.cfg.soak), "report",
			fmt.Sprintf("**%.1f MiB** live after a GC (see §6)", r.soakHeapMiB), reported})
	} else {
		rows = append(rows, row{"6", "Gateway heap after `make soak` (sandbox storage excluded)", "report", "failed to run", notMeasured})
	}
	return rows
}

func (r *report) markdown() string {
	var b strings.Builder
	m := r.machine
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench-report` (bench/cmd/benchreport) on %s in %v; every comparison below comes from this one run.\n\n",
		m.Date, r.elapsed.Round(time.Second))
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores\n- Go: %s, Linux %s\n- Commit: %s\n", m.CPU, m.Cores, m.GoVersion, m.Kernel, m.Commit)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min): %s before, %s after\n", m.LoadBefore, m.LoadAfter)
	if note := loadNote(m); note != "" {
		fmt.Fprintf(&b, "\n> %s\n", note)
	}

	b.WriteString("\n## Targets\n\n| # | Measurement | Goal | Measured | Status |\n|---|---|---|---|---|\n")
	for _, row := range r.rows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.target, row.what, row.goal, row.measured, row.status)
	}

	if h := r.cacheHit; h != nil {
		b.WriteString("\n## 1. Token-cache hit (`b.RunParallel`, medians)\n\n| Cache | ns/op | allocs/op | B/op |\n|---|---|---|---|\n")
		for _, name := range []string{cacheOurs, cacheOAuth2, cacheGoogle} {
			fmt.Fprintf(&b, "| %s | %.1f | %g | %g |\n", strings.TrimPrefix(name, "BenchmarkHitParallel/"), h[name]["ns/op"], h[name]["allocs/op"], h[name]["B/op"])
		}
	}
	if len(r.load) > 0 {
		b.WriteString("\n## 2–3. Unary calls under load (each round, in order)\n\n" + loadGeneratorNote + "\n\n" + medianRoundNote + "\n\n" +
			"| Round | Call | calls/s | p50 | p99 | server CPU/call | load generator CPU/call |\n|---|---|---|---|---|---|---|\n")
		for i, l := range r.load {
			for _, c := range []struct {
				name string
				res  loadgen.Result
			}{
				{"Health/Check (gRPC)", l.health}, {"GetToken (gRPC)", l.grpcToken},
				{"GetToken (REST, HTTP/1.1, wrk-class client)", l.restToken}, {"GetToken (REST, HTTP/1.1, Go net/http client)", l.restNetHTTP},
				{"GetToken (REST, h2c)", l.restH2Token},
				{floorRESTName, l.floorREST}, {floorGRPCName, l.floorGRPC},
			} {
				if c.res.Calls == 0 {
					continue
				}
				fmt.Fprintf(&b, "| %d | %s | %.0f | %v | %v | %s | %s |\n", i+1, c.name, c.res.PerSecond(), us(c.res.Quantile(0.5)), us(c.res.Quantile(0.99)),
					cpuUS(c.res.ServerCPU, c.res.ServerCPUPerCall()), cpuUS(c.res.ClientCPU, c.res.ClientCPUPerCall()))
			}
		}
		if note := r.floorNote(); note != "" {
			b.WriteString("\n" + floorRowsNote + "\n\n" + note + "\n")
		}
	}
	if r.stampedeCold.Calls > 0 {
		b.WriteString("\n## 4. Stampede\n\n| Run | calls | failed | p50 | p99 | max | token requests |\n|---|---|---|---|---|---|---|\n")
		line := func(name string, res loadgen.Result, fetches string) {
			fmt.Fprintf(&b, "| %s | %d | %d | %v | %v | %v | %s |\n", name, res.Calls, res.Errors,
				ms(res.Quantile(0.5)), ms(res.Quantile(0.99)), ms(res.Quantile(1)), fetches)
		}
		if r.stampedeFirst.Calls > 0 {
			line("first burst of the fresh process (cold cache too; not judged)", r.stampedeFirst, "")
		}
		for i, round := range r.stampedeRounds {
			line(fmt.Sprintf("round %d: cold cache (after InvalidateToken; 50 ms at EEO)", i+1), round.cold, strconv.FormatInt(round.fetches, 10))
			line(fmt.Sprintf("round %d: warm (cached) — cold − warm p99: %v", i+1, ms(round.gap())), round.warm, "")
		}
		fmt.Fprintf(&b, "\nThe round with the median cold − warm p99 is judged in the table of targets.\n")
	}
	if len(r.files) > 0 {
		fmt.Fprintf(&b, "\n## 5. File transfers (%s each)\n\nCPU is the seconds of CPU each process spent on the transfer: on 2 shared cores their sum, more than any one of them, bounds the throughput.\n\n"+
			"| Transfer | bytes | seconds | MiB/s | CPU s: client | gateway | sandbox | integrity |\n|---|---|---|---|---|---|---|---|\n", sizeString(r.cfg.size))
		for _, f := range r.files {
			verdict := "sha256 ok"
			if f.Err != nil {
				verdict = "FAILED: " + f.Err.Error()
			}
			fmt.Fprintf(&b, "| %s | %d | %.2f | %.1f | %.2f | %.2f | %.2f | %s |\n", f.Name, f.Bytes, f.Duration.Seconds(), f.MiBPerSecond(),
				f.CPU.Client.Seconds(), f.CPU.Gateway.Seconds(), f.CPU.Sandbox.Seconds(), verdict)
		}
		if r.gatewayRSS > 0 {
			fmt.Fprintf(&b, "\nGateway peak RSS (VmHWM): %.1f MiB.\n", float64(r.gatewayRSS)/(1<<20))
		}
	}
	if r.soakSummary != "" {
		fmt.Fprintf(&b, "\n## 6. Soak (%v)\n\nThe soak runs the sandbox, the gateway and the load in one process; the gateway's heap is the live heap "+
			"after a GC less what the memory profile attributes to the sandbox's code (its stored imports and reports) and to the load's own "+
			"bookkeeping: each allocation belongs to the innermost frame of this module on its stack.\n\n```\n%s```\n", r.cfg.soak, r.soakSummary)
	}
	if len(r.failures) > 0 {
		b.WriteString("\n## Failures\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(f, "\n", " "))
		}
	}
	b.WriteString("\n## Commands\n\n```sh\n")
	fmt.Fprintf(&b, "make bench-report SIZE=%d   # runs all of the below\n", r.cfg.size)
	for _, c := range r.commands {
		if strings.HasPrefix(c, "(") {
			fmt.Fprintf(&b, "%s\n", c)
		}
	}
	b.WriteString("```\n\n")
	for _, c := range r.commands {
		if !strings.HasPrefix(c, "(") {
			fmt.Fprintf(&b, "- %s.\n", c)
		}
	}
	b.WriteString("\nComparison libraries are pinned in bench/go.mod (golang.org/x/oauth2, cloud.google.com/go/auth); " +
		"the gateway under test is this checkout, built from cmd/eeo-gateway and configured by a YAML file with an API key, as in production.\n")
	return b.String()
}

// loadNote warns when other work shared the CPU during the run.
func loadNote(m machine) string {
	worst := 0.0
	for _, l := range []string{m.LoadBefore, m.LoadAfter} {
		if f := strings.Fields(l); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				worst = max(worst, v)
			}
		}
	}
	if worst <= float64(m.Cores)/2 {
		return ""
	}
	return fmt.Sprintf("Measured on a loaded machine: the 1-minute load average reached %.1f on %d cores while this ran, "+
		"so other work shared the CPU. Absolute numbers are noisy and pessimistic; ratios taken side by side in the same run are more robust, "+
		"but still noisy. Regenerate on a quiet machine for numbers to quote.", worst, m.Cores)
}

// loadGeneratorNote says which REST number is judged, and why.
const loadGeneratorNote = "Row 3 judges REST GetToken from the wrk-class HTTP/1.1 client (bench/loadgen.RawHTTP1): a keep-alive connection per worker, " +
	"pre-rendered request bytes, and only the status line, the framing headers and the body read back — how HTTP servers are conventionally measured. " +
	"The gRPC calls are made the same way: the request encoded once, the response's bytes checked rather than decoded. " +
	"The load generator shares the 2 cores with the gateway, so every microsecond of client CPU per call is throughput the gateway is not credited with; " +
	"Go's net/http client spends more CPU per call than the wrk-class one (last column), so the row from it, shown for reference, measures that client as much as the gateway. " +
	"Server CPU/call is the gateway's own cost (on the floor rows, the floor server's), steadier than calls/s on a shared machine."

// cpuUS renders a CPU time per call in µs, or "" when it was not measured.
func cpuUS(total, perCall time.Duration) string {
	if total == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(perCall)/1e3, 'f', 1, 64) + " µs"
}

// medianRoundNote says how row 2 picks its round.
const medianRoundNote = "Each round runs every call on the same gateway in slices, the calls taking turns slice by slice, so that each call's number adds up moments the others shared; row 2 judges the round whose GetToken/Health ratio is the median of the rounds', and row 3 the round whose REST/gRPC ratio is, " +
	"since a ratio taken within one round pairs calls that shared the machine alike."

// medianRatioRound returns the round whose ratio is the median of the
// rounds' (the lower middle one of an even number), and its index.
func medianRatioRound(rounds []loadRound, ratio func(loadRound) float64) (int, loadRound) {
	idx := make([]int, len(rounds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(ratio(rounds[a]), ratio(rounds[b])) })
	m := idx[(len(idx)-1)/2]
	return m, rounds[m]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms" }
func us(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) + " µs" }

func sizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// The floor rows of the unary table (bench/floor).
const (
	floorRESTName = "floor: bare net/http, same response"
	floorGRPCName = "floor: bare grpc-go, same response"
)

// floorRowsNote says what the floor rows are.
const floorRowsNote = "The floor rows are reference, not judged: a bare net/http server and a bare grpc-go server (bench/floor; no grpc-gateway, " +
	"no interceptors, no logs, no metrics; the gateway's listener settings), each in a process of its own, answering with the very GetToken response " +
	"the gateway gave at the start of the step, loaded by the same clients as the gateway's REST (wrk-class, HTTP/1.1) and gRPC rows. " +
	"Their server CPU/call is the floor process's, measured as the gateway's is: what the protocol stack costs per call before the gateway does anything."

// floorNote is what the floors imply for target 3, from the round row 3
// judges: the protocols' own REST/gRPC ratio, and how far above its
// protocol's floor each of the gateway's rows is. Empty without floors.
func (r *report) floorNote() string {
	if len(r.load) == 0 {
		return ""
	}
	k, m := medianRatioRound(r.load, func(l loadRound) float64 { return l.restToken.PerSecond() / l.grpcToken.PerSecond() })
	if m.floorREST.Calls == 0 || m.floorGRPC.Calls == 0 {
		return ""
	}
	fr, fg := m.floorREST, m.floorGRPC
	cpuRatio := func(gw, fl loadgen.Result) string {
		if gw.ServerCPU == 0 || fl.ServerCPU == 0 {
			return "CPU/call not measured"
		}
		return fmt.Sprintf("**%.1f×** its floor's CPU/call (%s vs %s)", float64(gw.ServerCPUPerCall())/float64(fl.ServerCPUPerCall()),
			cpuUS(gw.ServerCPU, gw.ServerCPUPerCall()), cpuUS(fl.ServerCPU, fl.ServerCPUPerCall()))
	}
	return fmt.Sprintf("Target 3 against the floors (round %d, the one row 3 judges): bare net/http over HTTP/1.1 serves **%.2f×** the calls/s of bare grpc-go "+
		"(%.0f/s vs %.0f/s; server CPU/call %s vs %s), which is what the protocols alone allow REST/gRPC to be; "+
		"the gateway's REST GetToken costs %s and runs at %.2f× the floor's calls/s; its gRPC GetToken costs %s and runs at %.2f× the floor's calls/s.",
		k+1, fr.PerSecond()/fg.PerSecond(), fr.PerSecond(), fg.PerSecond(),
		cpuUS(fr.ServerCPU, fr.ServerCPUPerCall()), cpuUS(fg.ServerCPU, fg.ServerCPUPerCall()),
		cpuRatio(m.restToken, fr), m.restToken.PerSecond()/fr.PerSecond(),
		cpuRatio(m.grpcToken, fg), m.grpcToken.PerSecond()/fg.PerSecond())
}
