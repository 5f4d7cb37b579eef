package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hamba/avro/v2"
)

// LectureProgress is the benchmark's record (training.v1.LectureProgress, see
// bench/src/lecture.rs), decoded in full.
type LectureProgress struct {
	EventID        string `avro:"event_id"`
	LearnerID      string `avro:"learner_id"`
	CourseID       string `avro:"course_id"`
	LectureID      string `avro:"lecture_id"`
	WatchedSeconds int32  `avro:"watched_seconds"`
	// timestamp-millis as its underlying long: hamba decodes it into an int64 directly (a
	// time.Time would cost a conversion per record).
	OccurredAt int64 `avro:"occurred_at"`
}

// avroDecoder decodes Confluent-framed values (magic 0, 4-byte big-endian schema id, Avro
// binary) with the writer schema of their id, fetched from the registry once per id.
type avroDecoder struct {
	registry string
	http     *http.Client
	schemas  map[uint32]avro.Schema
	// The last id seen and its schema: every record of a topic usually has the same one.
	lastID     uint32
	lastSchema avro.Schema
	// Reused for every record.
	value LectureProgress
}

func newAvroDecoder(registry string) *avroDecoder {
	return &avroDecoder{
		registry: registry,
		http:     &http.Client{Timeout: 30 * time.Second},
		schemas:  make(map[uint32]avro.Schema),
	}
}

// watchedSeconds decodes one value and returns its watched_seconds.
func (d *avroDecoder) watchedSeconds(b []byte) (uint64, error) {
	if len(b) < 5 || b[0] != 0 {
		return 0, fmt.Errorf("not a Confluent-framed value (%d bytes, first byte %#x; expected magic 0 and a 4-byte schema id)", len(b), first(b))
	}
	id := binary.BigEndian.Uint32(b[1:5])
	schema := d.lastSchema
	if schema == nil || id != d.lastID {
		var err error
		if schema, err = d.schema(id); err != nil {
			return 0, err
		}
		d.lastID, d.lastSchema = id, schema
	}
	if err := avro.Unmarshal(schema, b[5:], &d.value); err != nil {
		return 0, fmt.Errorf("decoding LectureProgress (schema id %d): %w", id, err)
	}
	if d.value.WatchedSeconds < 0 {
		return 0, fmt.Errorf("negative watched_seconds %d", d.value.WatchedSeconds)
	}
	return uint64(d.value.WatchedSeconds), nil
}

func first(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// schema returns the parsed writer schema of id, from the cache or the registry.
func (d *avroDecoder) schema(id uint32) (avro.Schema, error) {
	if s, ok := d.schemas[id]; ok {
		return s, nil
	}
	url := fmt.Sprintf("%s/schemas/ids/%d", d.registry, id)
	resp, err := d.http.Get(url)
	if err != nil {
		return nil, fmt.Errorf("fetching schema %d: %w", id, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetching schema %d from %s: %w", id, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching schema %d: GET %s answered %s: %s", id, url, resp.Status, body)
	}
	var reply struct {
		Schema     string `json:"schema"`
		SchemaType string `json:"schemaType"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return nil, fmt.Errorf("schema %d: GET %s answered %q: %w", id, url, body, err)
	}
	if reply.SchemaType != "" && reply.SchemaType != "AVRO" {
		return nil, fmt.Errorf("schema %d is %s, not AVRO", id, reply.SchemaType)
	}
	s, err := avro.Parse(reply.Schema)
	if err != nil {
		return nil, fmt.Errorf("schema %d does not parse: %w", id, err)
	}
	d.schemas[id] = s
	return s, nil
}
