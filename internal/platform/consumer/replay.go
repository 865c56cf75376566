package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

// HeaderReplayedFrom is set on a replayed record: dlq-topic/partition/offset
// of the dead letter it came from. It is kept if the event fails again, so
// a second dead letter shows it was a replay.
const HeaderReplayedFrom = "replayed-from"

// DefaultReplayGroup is the consumer group whose committed offsets remember
// how far each dead-letter topic was replayed.
const DefaultReplayGroup = "pvara.dlq-replay"

// ReplayOptions configures ReplayDLQ.
type ReplayOptions struct {
	// Topic is the dead-letter topic, pvara.<type>.dlq.
	Topic string
	// Group keeps the progress (default DefaultReplayGroup): a replay
	// starts after the last record an earlier replay of Topic sent.
	Group string
	// DryRun lists the records without producing or recording progress.
	DryRun bool
	// Limit stops after that many records (0: up to the end of the topic
	// as it was when the replay started).
	Limit int
	// Report, when set, is called for each record.
	Report func(ReplayedRecord)
}

// ReplayedRecord describes one dead letter seen by ReplayDLQ.
type ReplayedRecord struct {
	Partition int32
	Offset    int64
	EventID   string
	Type      string
	Group     string
	Attempts  string
	Error     string
	// Target is the topic the record was (or would be) sent back to.
	Target string
}

// ReplayDLQ sends the records of a dead-letter topic back to their original
// topic, with their original key, value and headers (minus the dlq-*
// ones). Every group consuming that topic sees the event again: the group
// that dead-lettered it applies it (it was never recorded as processed),
// groups that had applied it skip it as a duplicate. Fix the cause first.
//
// Progress is committed, after each batch is acknowledged, as the offsets of
// opts.Group on the dead-letter topic, so running it again continues where
// the last run stopped; a crash between produce and commit replays a batch
// twice, which the consumers' dedupe absorbs. cl is a client from
// kafka.NewClient; kopts are the same connection options (a consuming
// client is made from them).
func ReplayDLQ(ctx context.Context, cl *kgo.Client, kopts []kgo.Opt, opts ReplayOptions) (int, error) {
	if !strings.HasPrefix(opts.Topic, outbox.TopicPrefix) || !strings.HasSuffix(opts.Topic, outbox.DLQSuffix) {
		return 0, fmt.Errorf("consumer: %q is not a dead-letter topic (pvara.<type>.dlq)", opts.Topic)
	}
	if opts.Group == "" {
		opts.Group = DefaultReplayGroup
	}
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, opts.Topic)
	if err != nil {
		return 0, fmt.Errorf("consumer: end offsets of %s: %w", opts.Topic, err)
	}
	if err := ends.Error(); err != nil {
		return 0, fmt.Errorf("consumer: end offsets of %s: %w", opts.Topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, opts.Topic)
	if err != nil {
		return 0, fmt.Errorf("consumer: start offsets of %s: %w", opts.Topic, err)
	}
	committed, err := adm.FetchOffsets(ctx, opts.Group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		// The first replay: some brokers (kfake) answer so for a group
		// that never committed; Kafka answers with no offsets.
		committed, err = kadm.OffsetResponses{}, nil
	}
	if err != nil {
		return 0, fmt.Errorf("consumer: progress of group %s: %w", opts.Group, err)
	}
	from := map[int32]kgo.Offset{}
	end := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		at := int64(0)
		if s, ok := starts.Lookup(opts.Topic, o.Partition); ok {
			at = s.Offset
		}
		if c, ok := committed.Lookup(opts.Topic, o.Partition); ok && c.At > at {
			at = c.At
		}
		if at < o.Offset {
			from[o.Partition] = kgo.NewOffset().At(at)
			end[o.Partition] = o.Offset
		}
	})
	if len(from) == 0 {
		return 0, nil
	}
	rd, err := kgo.NewClient(append(append([]kgo.Opt{}, kopts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{opts.Topic: from}),
		kgo.FetchMaxWait(200*time.Millisecond))...)
	if err != nil {
		return 0, fmt.Errorf("consumer: replay client: %w", err)
	}
	defer rd.Close()

	n := 0
	for len(end) > 0 && (opts.Limit == 0 || n < opts.Limit) {
		fs := rd.PollRecords(ctx, 500)
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var fetchErr error
		fs.EachError(func(_ string, _ int32, err error) { fetchErr = errors.Join(fetchErr, err) })
		if fetchErr != nil {
			return n, fmt.Errorf("consumer: read %s: %w", opts.Topic, fetchErr)
		}
		var out []*kgo.Record
		progress := kadm.Offsets{}
		fs.EachRecord(func(r *kgo.Record) {
			last, ok := end[r.Partition]
			if !ok || r.Offset >= last || (opts.Limit > 0 && n >= opts.Limit) {
				return
			}
			n++
			target := header(r, HeaderDLQTopic)
			if target == "" || strings.HasSuffix(target, outbox.DLQSuffix) {
				target = strings.TrimSuffix(r.Topic, outbox.DLQSuffix)
			}
			if opts.Report != nil {
				opts.Report(describe(r, target))
			}
			out = append(out, replayRecord(r, target))
			progress.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.Offset + 1, LeaderEpoch: -1})
			if r.Offset+1 >= last {
				delete(end, r.Partition)
			}
		})
		if len(out) == 0 || opts.DryRun {
			continue
		}
		if err := cl.ProduceSync(ctx, out...).FirstErr(); err != nil {
			return n - len(out), fmt.Errorf("consumer: replay produce: %w", err)
		}
		resp, err := adm.CommitOffsets(ctx, opts.Group, progress)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return n, fmt.Errorf("consumer: replay progress (the last batch may be replayed again): %w", err)
		}
	}
	return n, nil
}

func replayRecord(r *kgo.Record, target string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+1)
	for _, h := range r.Headers {
		if !isDLQHeader(h.Key) && h.Key != HeaderReplayedFrom {
			hs = append(hs, h)
		}
	}
	hs = append(hs, kgo.RecordHeader{Key: HeaderReplayedFrom, Value: []byte(r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10))})
	return &kgo.Record{Topic: target, Key: r.Key, Value: r.Value, Headers: hs}
}

func describe(r *kgo.Record, target string) ReplayedRecord {
	var env struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	_ = json.Unmarshal(r.Value, &env)
	return ReplayedRecord{
		Partition: r.Partition, Offset: r.Offset, EventID: env.ID, Type: env.Type,
		Group: header(r, HeaderDLQGroup), Attempts: header(r, HeaderDLQAttempts), Error: header(r, HeaderDLQError),
		Target: target,
	}
}
