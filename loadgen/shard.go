package loadgen

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"time"
)

// SplitPoint returns shard i of n's part of the load point p, so n machines
// together put p's load on a shared engine: concurrency C becomes C/n per shard
// (the remainder to the first shards), rate R becomes R/n (a constant one shifted
// by i/R, Point.Offset, so the shards interleave; a ramp's start likewise), a request count and a
// max_concurrency cap are divided like C, and the Poisson seed is derived from
// p's seed, the plan (planHash, the same on every shard) and i, so every shard's
// schedule is independent of the others' and the same on every rerun. The sum of
// n independent Poisson streams of rate R/n is a Poisson stream of rate R. The
// name stays p's, so the shards' reports merge (MergeShards) under the name of
// the whole point.
//
// A split that would leave a shard's part empty (C, a request count or a cap
// smaller than n; sequential load over more than one shard) is an error on
// every shard.
func SplitPoint(p Point, i, n int, planHash string) (Point, error) {
	if n < 1 || i < 0 || i >= n {
		return p, fmt.Errorf("load %s: shard %d/%d: want 0 ≤ index < count", p.Name, i, n)
	}
	share := func(what string, total int) (int, error) {
		if total > 0 && total < n {
			return 0, fmt.Errorf("load %s: %s %d cannot be split over %d shards", p.Name, what, total, n)
		}
		s := total / n
		if i < total%n {
			s++
		}
		return s, nil
	}
	var errs []error
	if p.Mode == ModeTrace && n > 1 {
		errs = append(errs, fmt.Errorf("load %s: a trace cannot be split over %d shards yet", p.Name, n))
	}
	if p.Session.Turns > 0 && n > 1 {
		errs = append(errs, fmt.Errorf("load %s: sessions cannot be split over %d shards yet", p.Name, n))
	}
	if p.Search.Over != "" && n > 1 {
		errs = append(errs, fmt.Errorf("load %s: a search cannot be split over %d shards: each probe depends on the last", p.Name, n))
	}
	q := p
	var err error
	switch p.Mode {
	case ModeSequential:
		if n > 1 {
			errs = append(errs, fmt.Errorf("load %s: sequential load cannot be split over %d shards", p.Name, n))
		}
	case ModeConcurrency:
		q.Concurrency, err = share("concurrency", p.Concurrency)
		errs = append(errs, err)
		if p.Ramp.Over > 0 {
			var from int
			from, err = share("ramp.from", int(p.Ramp.From))
			q.Ramp.From = float64(from)
			errs = append(errs, err)
		}
	case ModeRate:
		q.Rate = p.Rate / float64(n)
		q.Ramp.From = p.Ramp.From / float64(n)
		if p.Arrival != ArrivalPoisson && p.Rate > 0 {
			// Constant streams of R/n each, shard i shifted by i/R: together
			// one stream of R.
			q.Offset = time.Duration(float64(i) / p.Rate * float64(time.Second))
		}
		q.MaxConcurrency, err = share("max_concurrency", p.MaxConcurrency)
		errs = append(errs, err)
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%d\x00%d", planHash, i, p.Seed)
		q.Seed = int64(h.Sum64() >> 1)
	}
	q.Requests, err = share("requests", p.Requests)
	errs = append(errs, err)
	return q, errors.Join(errs...)
}

// MergeShards merges the reports of one load point's shards, run at the same
// time (SplitPoint), into the report of the whole point: counts and token sums
// add, the distributions merge exactly (their percentiles are those of one
// process over the same requests), and the wall time is the union's: from the
// earliest first request of any shard to the latest finish, so req/s and
// tokens/s are the whole load's rates. MaxInFlight is the sum of the shards'
// maxima, an upper bound. The point is the whole one again: concurrency, rate,
// request count and cap are summed.
func MergeShards(reps []*Report) (*Report, error) {
	if len(reps) == 0 {
		return nil, errors.New("load: no shard reports to merge")
	}
	p := reps[0].Point
	p.Concurrency, p.Rate, p.Requests, p.MaxConcurrency = 0, 0, 0, 0
	for _, r := range reps {
		if r.Point.Name != reps[0].Point.Name {
			return nil, fmt.Errorf("load: merging shard reports of %s and %s", reps[0].Point.Name, r.Point.Name)
		}
		p.Concurrency += r.Point.Concurrency
		p.Rate += r.Point.Rate
		p.Requests += r.Point.Requests
		p.MaxConcurrency += r.Point.MaxConcurrency
	}
	out := newReport(p)
	inflight := 0
	for _, r := range reps {
		out.Merge(r)
		inflight += r.MaxInFlight
	}
	out.Wall = 0
	if !out.End.IsZero() {
		out.Wall = out.End.Sub(out.Start)
	}
	out.MaxInFlight = inflight
	return out, nil
}

// ShardRecordsFile is the file, in a shard's output folder, that holds the
// shard's load reports in their lossless form, one ShardRecord per JSON line,
// for merge to pool across shards.
const ShardRecordsFile = "load-shards.jsonl"

// ShardRecord is one run of a split load point on one shard.
type ShardRecord struct {
	// Name is the benchmark's name without "Benchmark" and the -GOMAXPROCS
	// suffix: Load/model=M/concurrency=C, the whole point's name.
	Name string `json:"name"`
	// Iteration counts the runs of the point on the shard from 0, in the order
	// of the shard's result lines.
	Iteration int `json:"iteration"`
	// Report is the run's report (its point the shard's part).
	Report *Report `json:"report"`
}

// WriteShardRecord writes rec as one JSON line.
func WriteShardRecord(w io.Writer, rec ShardRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("load %s: %w", rec.Name, err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// ReadShardRecords reads the records WriteShardRecord wrote; file names the
// input in errors.
func ReadShardRecords(r io.Reader, file string) ([]ShardRecord, error) {
	var out []ShardRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<30) // a record holds every sample of a run
	for line := 1; sc.Scan(); line++ {
		var rec ShardRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		if rec.Report == nil || rec.Name == "" {
			return nil, fmt.Errorf("%s:%d: a load record without a name or report", file, line)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}
