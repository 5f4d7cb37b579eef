package main

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// The benchmark's schema, as bench/src/lecture.rs registers it.
const lectureSchema = `{"type":"record","name":"LectureProgress","namespace":"training.v1","fields":[
  {"name":"event_id","type":"string"},{"name":"learner_id","type":"string"},
  {"name":"course_id","type":"string"},{"name":"lecture_id","type":"string"},
  {"name":"watched_seconds","type":"int"},
  {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"}}]}`

func registry(t *testing.T, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/ccompat/v7/schemas/ids/7" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]string{"schema": lectureSchema})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func framed(t *testing.T, id uint32, v LectureProgress) []byte {
	t.Helper()
	body, err := avro.Marshal(avro.MustParse(lectureSchema), v)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(out[1:], id)
	return append(out, body...)
}

func TestDecodesFramedRecordsWithOneRegistryLookup(t *testing.T) {
	var hits atomic.Int32
	srv := registry(t, &hits)
	d := newAvroDecoder(srv.URL + "/apis/ccompat/v7")
	want := LectureProgress{
		EventID: "0c1b2a39-1f2e-4abc-8000-000000000001", LearnerID: "learner-00001",
		CourseID: "course-0000", LectureID: "course-0000-lecture-001",
		WatchedSeconds: 65, OccurredAt: 1_764_000_000_250,
	}
	for i := range 3 {
		n, err := d.watchedSeconds(framed(t, 7, want))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if n != 65 || d.value != want {
			t.Fatalf("record %d: got %d, %+v", i, n, d.value)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d registry lookups, want 1", hits.Load())
	}
}

func TestRejectsBadFramingAndUnknownIds(t *testing.T) {
	var hits atomic.Int32
	srv := registry(t, &hits)
	d := newAvroDecoder(srv.URL + "/apis/ccompat/v7")
	for _, b := range [][]byte{nil, {0, 0, 0}, {1, 0, 0, 0, 7, 2}} {
		if _, err := d.watchedSeconds(b); err == nil || !strings.Contains(err.Error(), "Confluent-framed") {
			t.Fatalf("%v: got %v", b, err)
		}
	}
	if _, err := d.watchedSeconds(framed(t, 8, LectureProgress{})); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown id: got %v", err)
	}
}

func TestArgs(t *testing.T) {
	s, err := parseArgs([]string{"--brokers", "a:1,b:2", "--topic", "t", "--group", "g", "--count", "10",
		"--timeout-ms=500", "--registry", "http://r/x/", "--property", "fetch.wait.max.ms=10",
		"--property", "fetch.queue.backoff.ms=10"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.brokers, " ") != "a:1 b:2" || s.topic != "t" || s.group != "g" || s.count != 10 ||
		s.timeout != 500*time.Millisecond || s.registry != "http://r/x" || len(s.opts) != 1 {
		t.Fatalf("%+v", s)
	}
	for _, bad := range [][]string{
		{"--topic", "t", "--group", "g"},
		{"--topic", "t", "--count", "1"},
		{"--topic", "t", "--group", "g", "--count", "1", "--property", "fetch.wait.max.ms=x"},
		{"--topic", "t", "--group", "g", "--count", "1", "--property", "novalue"},
		{"--topic", "t", "--group", "g", "--count", "1", "extra"},
	} {
		if _, err := parseArgs(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	if _, err := parseArgs([]string{"-h"}); err != errHelp {
		t.Fatalf("-h: %v", err)
	}
}
