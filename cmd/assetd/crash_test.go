package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"assetd/internal/testenv"
)

// crashRounds is how many times each stack is killed with SIGKILL in the
// middle of concurrent uploads and deletes (the issue asks for 50).
const crashRounds = 50

// crashWorkers is how many clients upload and delete at once in a round.
const crashWorkers = 6

// crashPaths are the paths the workers write to; a few, so that entry
// counters are contended.
var crashPaths = []string{"crash/a", "crash/b", "crash/c/d", "crash/c/e"}

// TestCrashRecovery kills assetd with SIGKILL in the middle of concurrent
// uploads and deletes, crashRounds times, then restarts it, runs the reaper
// and the sweeper (`assetd sweep -grace 0s`) and requires that `assetd check`
// finds storage consistent, that every acknowledged upload is served with
// its bytes unless its delete was acknowledged, and that every acknowledged
// delete is gone. Finally it damages the storage on purpose and requires
// `assetd check` to fail and name the damage, so a passing check means
// something.
//
// The service runs as a real process built from this package, because only
// a process can be killed without running any of its deferred clean-up.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() && !testenv.InCI() {
		t.Skip("builds assetd and kills it 50 times per stack")
	}
	bin := buildAssetd(t)
	fixtures := [][]byte{fixture(t, "alpha.png"), fixture(t, "cactus.webp")}
	forEachStack(t, func(t *testing.T, st stack) {
		began := time.Now()
		d := newDeployment(t, st, bin)
		l := &ledger{}
		for round := range crashRounds {
			d.crashRound(t, l, fixtures, round)
			if t.Failed() {
				t.FailNow()
			}
		}

		// A normal start after the last crash: it must come up, reap, and
		// shut down gracefully on SIGTERM.
		p := d.start(t)
		p.stop(t)

		// No server runs now, so no upload is between its object and its
		// row, and a grace of 0 is safe.
		out, code := d.command(t, "sweep", "-grace", "0s")
		if code != 0 {
			t.Fatalf("assetd sweep exited %d:\n%s", code, out)
		}
		t.Logf("sweep: %s", sweptLine(out))
		out, code = d.command(t, "check")
		if code != 0 || !strings.Contains(out, "check: consistent") {
			t.Fatalf("assetd check after %d crashes exited %d:\n%s", crashRounds, code, out)
		}
		d.requireNoLeftovers(t)

		p = d.start(t)
		lost, resurrected := d.verify(t, p, l)
		p.stop(t)
		t.Logf("%s: %d rounds, %d kills with requests in flight; %d uploads acknowledged, %d cut by a kill; "+
			"%d deletes acknowledged, %d cut by a kill; %d acknowledged uploads lost, %d acknowledged deletes undone; %s",
			st.name, crashRounds, l.killsInFlight, len(l.entries), l.uploadsCut, l.deletesAcked(), l.deletesCut,
			lost, resurrected, time.Since(began).Round(time.Second))
		if l.killsInFlight < crashRounds/2 {
			t.Errorf("only %d of %d kills hit requests in flight; the test did not crash the service mid-request", l.killsInFlight, crashRounds)
		}
		if len(l.entries) == 0 || l.deletesAcked() == 0 {
			t.Errorf("%d uploads and %d deletes were acknowledged; the test exercised nothing", len(l.entries), l.deletesAcked())
		}

		d.checkDetectsDamage(t, l)
	})
}

// buildAssetd builds this command into a temporary directory.
func buildAssetd(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build assetd: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "assetd")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// deployment is one stack's database, object store and configuration, which
// every process of the test shares.
type deployment struct {
	bin        string
	configFile string
	env        []string
	bucket     string
	objectRoot string // the filesystem stack's object root, "" on S3
	tempDir    string // the processes' TMPDIR, where uploads are spooled
	s3         map[string]string
}

func newDeployment(t *testing.T, st stack, bin string) *deployment {
	t.Helper()
	dir := t.TempDir()
	d := &deployment{bin: bin, configFile: filepath.Join(dir, "assetd.yaml"), tempDir: filepath.Join(dir, "tmp")}
	if err := os.Mkdir(d.tempDir, 0o755); err != nil {
		t.Fatal(err)
	}
	vars := st.env(t, dir)
	vars["ASSETD_SERVER_LISTEN"] = "127.0.0.1:0"
	vars["ASSETD_SERVER_PUBLIC_URL"] = "http://assetd.test"
	if vars["ASSETD_OBJECTS_BACKEND"] == "filesystem" {
		d.objectRoot = vars["ASSETD_OBJECTS_FILESYSTEM_ROOT"]
	} else {
		d.s3 = vars
	}
	// The bucket is fresh for this deployment, as in start.
	d.bucket = testenv.Bucket()
	yaml := "paths:\n  \"/**\":\n    bucket: " + d.bucket + "\n    lqip: [blurhash, thumbhash]\n"
	if err := os.WriteFile(d.configFile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	// The process sees exactly this stack's configuration: no ASSETD_*
	// variable of the caller's leaks in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASSETD_") && !strings.HasPrefix(kv, "TMPDIR=") {
			d.env = append(d.env, kv)
		}
	}
	for k, v := range vars {
		d.env = append(d.env, k+"="+v)
	}
	d.env = append(d.env, "TMPDIR="+d.tempDir)
	return d
}

// process is a running `assetd serve`.
type process struct {
	cmd  *exec.Cmd
	URL  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done is closed
	log  *tailWriter
}

// start runs the server and returns once it is listening and ready. The
// process is killed when the test ends, if it still runs.
func (d *deployment) start(t *testing.T) *process {
	t.Helper()
	addr := make(chan string, 1)
	p := &process{done: make(chan struct{})}
	p.log = &tailWriter{onLine: func(line []byte) {
		var l struct{ Msg, Addr string }
		if json.Unmarshal(line, &l) == nil && l.Msg == "listening" {
			select {
			case addr <- l.Addr:
			default:
			}
		}
	}}
	p.cmd = exec.Command(d.bin, "-config", d.configFile)
	p.cmd.Env = d.env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-p.done:
		t.Fatalf("assetd exited before listening: %v\n%s", p.err, p.log.tail())
	case <-time.After(60 * time.Second):
		t.Fatalf("assetd did not start listening\n%s", p.log.tail())
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := client.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("assetd did not become ready (last: %v)\n%s", err, p.log.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop sends SIGTERM and requires a graceful exit with status 0.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("assetd exited with %v after SIGTERM\n%s", p.err, p.log.tail())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("assetd did not exit after SIGTERM\n%s", p.log.tail())
	}
}

// command runs `assetd <name> -config … args…` and returns its output and
// exit status.
func (d *deployment) command(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, append([]string{name, "-config", d.configFile}, args...)...)
	cmd.Env = d.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit) && ctx.Err() == nil:
		return string(out), exit.ExitCode()
	}
	t.Fatalf("assetd %s: %v\n%s", name, err, out)
	return "", -1
}

// entry is an upload the service acknowledged with 201, and what became of
// its delete.
type entry struct {
	path string
	id   int64
	key  string
	sum  [sha256.Size]byte
	fate fate
}

type fate int

const (
	live          fate = iota // no delete sent
	deleted                   // the delete was acknowledged with 204
	deleteUnknown             // the delete was cut by a kill: either outcome is right
)

// ledger records what the service acknowledged over all rounds.
type ledger struct {
	mu            sync.Mutex
	entries       []*entry
	deletable     []*entry // live entries no worker is deleting
	uploadsCut    int      // uploads with no answer: cut by a kill
	deletesCut    int
	killsInFlight int
}

func (l *ledger) deletesAcked() int {
	n := 0
	for _, e := range l.entries {
		if e.fate == deleted {
			n++
		}
	}
	return n
}

// claim takes a random deletable entry away from the other workers, or
// returns nil when there is none.
func (l *ledger) claim() *entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.deletable) == 0 {
		return nil
	}
	i := rand.IntN(len(l.deletable))
	e := l.deletable[i]
	l.deletable[i] = l.deletable[len(l.deletable)-1]
	l.deletable = l.deletable[:len(l.deletable)-1]
	return e
}

// crashRound starts the server, lets crashWorkers clients upload and delete,
// kills the server with SIGKILL after 50–400 ms and records every answer the
// clients got.
func (d *deployment) crashRound(t *testing.T, l *ledger, fixtures [][]byte, round int) {
	t.Helper()
	p := d.start(t)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	var stop atomic.Bool
	var inFlight atomic.Int32
	var unexpected atomic.Int32
	complain := func(format string, args ...any) {
		// Only while the server runs: a kill cuts answers, it does not
		// produce wrong statuses.
		if unexpected.Add(1) <= 5 {
			t.Errorf("round %d: "+format+"\n%s", append([]any{round}, append(args, p.log.tail())...)...)
		}
	}
	send := func(req *http.Request) (int, []byte, error) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	upload := func() {
		path := crashPaths[rand.IntN(len(crashPaths))]
		img := fixtures[rand.IntN(len(fixtures))]
		body, contentType := multipartUpload(img)
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/assets/"+path, body)
		req.Header.Set("Content-Type", contentType)
		status, resp, err := send(req)
		if err != nil {
			l.mu.Lock()
			l.uploadsCut++
			l.mu.Unlock()
			return
		}
		if status != http.StatusCreated {
			complain("POST %s = %d %s", path, status, resp)
			return
		}
		var a struct {
			Path     string
			EntryID  int64
			Variants []struct{ StoreKey string }
		}
		if err := json.Unmarshal(resp, &a); err != nil || a.Path != path || len(a.Variants) != 1 {
			complain("POST %s answered 201 with %s (%v)", path, resp, err)
			return
		}
		e := &entry{path: path, id: a.EntryID, key: a.Variants[0].StoreKey, sum: sha256.Sum256(img)}
		l.mu.Lock()
		l.entries = append(l.entries, e)
		l.deletable = append(l.deletable, e)
		l.mu.Unlock()
	}
	remove := func(e *entry) {
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/assets/%s/-/entry/%d", p.URL, e.path, e.id), nil)
		status, resp, err := send(req)
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case err != nil:
			e.fate = deleteUnknown
			l.deletesCut++
		case status == http.StatusNoContent:
			e.fate = deleted
		default:
			// Not deleted as far as the client knows; it may try again.
			l.deletable = append(l.deletable, e)
			complain("DELETE %s entry %d = %d %s", e.path, e.id, status, resp)
		}
	}

	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for !stop.Load() {
				if rand.IntN(3) == 0 {
					if e := l.claim(); e != nil {
						remove(e)
						continue
					}
				}
				upload()
			}
		})
	}
	time.Sleep(time.Duration(50+rand.IntN(351)) * time.Millisecond)
	// No new requests from here on, so that "no answer" means "cut by the
	// kill", not "sent to a dead server"; those in flight are killed.
	stop.Store(true)
	inFlightAtKill := inFlight.Load()
	p.kill(t)
	wg.Wait()
	if inFlightAtKill > 0 {
		l.killsInFlight++
	}
}

// multipartUpload is an upload request body with img as the asset part.
func multipartUpload(img []byte) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("asset", "image")
	w.Write(img)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// verify requires every acknowledged upload whose delete was not
// acknowledged to be served with its bytes, and every acknowledged delete to
// be gone. Entries whose delete was cut may be either, but must never be a
// server error. It returns how many acknowledged uploads were lost and how
// many acknowledged deletes were undone.
func (d *deployment) verify(t *testing.T, p *process, l *ledger) (lost, resurrected int) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	for _, e := range l.entries {
		k := fmt.Sprintf("%s entry %d", e.path, e.id)
		if seen[k] {
			report("%s was acknowledged twice: entry numbers were reused", k)
		}
		seen[k] = true
	}
	work := make(chan *entry)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for e := range work {
				url := fmt.Sprintf("%s/assets/%s/-/entry/%d/content", p.URL, e.path, e.id)
				resp, err := client.Get(url)
				if err != nil {
					report("GET %s: %v", url, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				served := resp.StatusCode == http.StatusOK && err == nil && sha256.Sum256(body) == e.sum
				gone := resp.StatusCode == http.StatusNotFound
				switch {
				case e.fate == live && !served:
					mu.Lock()
					lost++
					mu.Unlock()
					report("acknowledged upload %s entry %d (object %s) lost: GET content = %d, %d bytes", e.path, e.id, e.key, resp.StatusCode, len(body))
				case e.fate == deleted && !gone:
					mu.Lock()
					resurrected++
					mu.Unlock()
					report("acknowledged delete of %s entry %d undone: GET content = %d", e.path, e.id, resp.StatusCode)
				case e.fate == deleteUnknown && !served && !gone:
					report("%s entry %d, whose delete was cut, is neither served nor gone: GET content = %d %s", e.path, e.id, resp.StatusCode, body)
				}
			}
		})
	}
	for _, e := range l.entries {
		work <- e
	}
	close(work)
	wg.Wait()
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Errorf("%d problems after %d crashes, the first:\n%s", len(problems), crashRounds, strings.Join(problems[:min(len(problems), 20)], "\n"))
	}
	return lost, resurrected
}

// requireNoLeftovers fails unless the sweep removed every temporary file
// the crashes left: upload spool files in TMPDIR and, on the filesystem
// stack, unfinished object files in the bucket. Neither is an object (no
// listing reports them, so `assetd check` cannot see them), but both would
// take disk space for ever.
func (d *deployment) requireNoLeftovers(t *testing.T) {
	t.Helper()
	spooled, _ := filepath.Glob(filepath.Join(d.tempDir, "assetd-upload-*"))
	if len(spooled) > 0 {
		t.Errorf("the sweep left %d upload spool files in TMPDIR", len(spooled))
	}
	if d.objectRoot != "" {
		unfinished, _ := filepath.Glob(filepath.Join(d.objectRoot, d.bucket, ".tmp-*"))
		if len(unfinished) > 0 {
			t.Errorf("the sweep left %d unfinished object files in the bucket directory", len(unfinished))
		}
	}
}

// checkDetectsDamage removes the object of an acknowledged upload and adds
// an object no row references, and requires `assetd check` to fail and name
// both.
func (d *deployment) checkDetectsDamage(t *testing.T, l *ledger) {
	t.Helper()
	var victim *entry
	for _, e := range l.entries {
		if e.fate == live {
			victim = e
			break
		}
	}
	if victim == nil {
		t.Fatal("no live entry to damage")
	}
	orphan := "00000000-0000-7000-8000-" + hex.EncodeToString([]byte("orphan")) + ".png"
	if d.objectRoot != "" {
		bucketDir := filepath.Join(d.objectRoot, d.bucket)
		if err := os.Remove(filepath.Join(bucketDir, victim.key)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bucketDir, orphan), []byte("not referenced"), 0o640); err != nil {
			t.Fatal(err)
		}
	} else {
		client, err := minio.New(d.s3["ASSETD_OBJECTS_S3_ENDPOINT"], &minio.Options{Creds: credentials.NewStaticV4(
			d.s3["ASSETD_OBJECTS_S3_ACCESS_KEY"], d.s3["ASSETD_OBJECTS_S3_SECRET_KEY"], "")})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := client.RemoveObject(ctx, d.bucket, victim.key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		body := []byte("not referenced")
		if _, err := client.PutObject(ctx, d.bucket, orphan, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out, code := d.command(t, "check")
	if code == 0 || strings.Contains(out, "check: consistent") {
		t.Errorf("assetd check exited %d on damaged storage:\n%s", code, out)
	}
	for _, want := range []string{
		"missing object: " + d.bucket + "/" + victim.key,
		"orphan object: " + d.bucket + "/" + orphan,
		"1 rows point at missing objects, 1 objects are not referenced",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("assetd check output lacks %q:\n%s", want, out)
		}
	}
}

// sweptLine returns the "swept" log line of `assetd sweep`'s output.
func sweptLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"msg":"swept"`) {
			return line
		}
	}
	return "(no swept line) " + out
}

// tailWriter passes every complete line written to it to onLine and keeps
// the last lines for failure messages. It is safe for concurrent use.
type tailWriter struct {
	onLine  func([]byte)
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (w *tailWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i]
		if w.onLine != nil {
			w.onLine(line)
		}
		w.lines = append(w.lines, string(line))
		if len(w.lines) > 40 {
			w.lines = w.lines[len(w.lines)-40:]
		}
		w.partial = w.partial[i+1:]
	}
	return len(b), nil
}

// tail returns the last lines written, for failure messages.
func (w *tailWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return "assetd log (last lines):\n" + strings.Join(w.lines, "\n") + string(w.partial)
}
