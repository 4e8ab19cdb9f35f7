package apilog

import (
	"bufio"
	"context"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// MiddlewareOptions configures [Middleware]. The zero value of every field
// is a useful default.
type MiddlewareOptions struct {
	// Hasher hashes the client address into Entry.IPHash; use
	// [NewIPHasher]. Nil records no IP hash. The recorder's goroutine
	// calls it, off the request's path; the raw address is never stored.
	Hasher IPHasher

	// TrustedProxies are the networks of the reverse proxies in front of
	// the server. Only a request whose direct peer is in one of them has
	// its client address read from ProxyHeader; see [ClientAddr]. None by
	// default: forwarding headers are the client's to forge.
	TrustedProxies []netip.Prefix

	// ProxyHeader is the header the trusted proxies set: X-Forwarded-For
	// (the default), Forwarded or X-Real-IP.
	ProxyHeader string

	// KeyFunc, if set, gives the key ID and account of a request whose
	// handlers did not call [SetKey]. It runs after the handler.
	KeyFunc func(r *http.Request) (keyID, account string)

	// NoKeyAccount is the account recorded for a request no key or account
	// was attached to, such as one with a missing or unknown API key.
	// Default "-". Only an operator's all-accounts view shows these rows.
	NoKeyAccount string

	// ErrorCodeHeader, if set, names a response header whose value is the
	// error code, for handlers that do not call [SetErrorCode].
	ErrorCodeHeader string

	// RequestIDHeader is the request header a request ID is taken from
	// when it holds 1 to 128 letters, digits or "-_.:+/=~"; otherwise an ID
	// is generated. Either way it is set on the response under the same
	// name, so a customer can quote it to support. Default X-Request-Id.
	RequestIDHeader string

	// Skip, if set, leaves out the requests it returns true for, such as
	// health checks and the Logs page itself.
	Skip func(r *http.Request) bool

	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Middleware returns a middleware that records every request it wraps to
// rec: method, path, status, error code, key, account, client IP hash,
// time, duration and request ID. Recording never waits for the store.
// rec must not be nil; a nil opts means the defaults.
//
// The status is what the handler wrote, 200 when it wrote nothing, 500
// when it panicked (the panic goes on up), and 101 when it hijacked the
// connection. The endpoint is r.URL.Path without the query string, which
// can hold secrets; a path over 2,048 bytes is cut and ends with "…", and
// in every text field control and format characters (bidirectional
// controls, zero-width spaces), line separators, other invisible code
// points and invalid UTF-8 become U+FFFD, so one request is always one
// readable row that shows what was sent.
//
// Install it outside the host's authentication, which then calls [SetKey]
// once it knows the key, so that requests it refuses are recorded too.
func Middleware(rec *Recorder, opts *MiddlewareOptions) func(http.Handler) http.Handler {
	var opt MiddlewareOptions
	if opts != nil {
		opt = *opts
	}
	opt.TrustedProxies = append([]netip.Prefix(nil), opt.TrustedProxies...)
	if opt.NoKeyAccount == "" {
		opt.NoKeyAccount = "-"
	}
	if opt.RequestIDHeader == "" {
		opt.RequestIDHeader = "X-Request-Id"
	}
	opt.RequestIDHeader = http.CanonicalHeaderKey(opt.RequestIDHeader)
	if opt.ErrorCodeHeader != "" {
		opt.ErrorCodeHeader = http.CanonicalHeaderKey(opt.ErrorCodeHeader)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if opt.Skip != nil && opt.Skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			st := &requestState{Context: r.Context(), rw: responseWriter{ResponseWriter: w}, start: opt.Now()}
			// What the request says about itself is read now: a middleware
			// inside ours may rewrite r (RemoteAddr from a forwarding
			// header, say) before we record it.
			st.method = r.Method
			if r.URL != nil {
				st.path = r.URL.Path
			}
			if opt.Hasher != nil {
				st.addr = ClientAddr(r, opt.TrustedProxies, opt.ProxyHeader)
			}
			st.id[0] = requestID(r.Header[opt.RequestIDHeader])
			w.Header()[opt.RequestIDHeader] = st.id[:]
			r = r.WithContext(st)
			completed := false
			defer func() {
				if !completed {
					st.rw.status = http.StatusInternalServerError
				}
				recordRequest(rec, &opt, r, st)
			}()
			next.ServeHTTP(&st.rw, r)
			completed = true
		})
	}
}

// recordRequest builds the entry of a finished request and records it.
func recordRequest(rec *Recorder, opt *MiddlewareOptions, r *http.Request, st *requestState) {
	st.mu.Lock()
	keyID, account, errorCode := st.keyID, st.account, st.errorCode
	st.mu.Unlock()
	if keyID == "" && account == "" && opt.KeyFunc != nil {
		keyID, account = opt.KeyFunc(r)
	}
	// Cutting or mending an account could make it another tenant's, so an
	// account the store cannot take is no account.
	if account == "" || len(account) > MaxFieldLen || !utf8.ValidString(account) {
		keyID, account = "", opt.NoKeyAccount
	}
	if errorCode == "" && opt.ErrorCodeHeader != "" {
		errorCode = st.rw.Header().Get(opt.ErrorCodeHeader)
	}
	method := st.method
	if method == "" {
		method = http.MethodGet // as net/http reads it
	}
	status := st.rw.status
	if status == 0 {
		status = http.StatusOK
	}
	// The recorder counts and reports every entry it does not queue, and
	// hashes the address in its own goroutine.
	q := queued{e: Entry{
		Account:   account,
		KeyID:     cleanText(keyID, MaxFieldLen),
		RequestID: st.id[0],
		Method:    cleanText(method, MaxFieldLen),
		Endpoint:  cleanText(st.path, maxPathLen),
		Status:    status,
		ErrorCode: cleanText(errorCode, MaxFieldLen),
		Time:      st.start,
		Duration:  max(opt.Now().Sub(st.start), 0),
	}}
	if st.addr.IsValid() {
		q.addr, q.h = st.addr, opt.Hasher
	}
	_ = rec.enqueue(q)
}

// SetKey attaches the API key and account of the request that ctx belongs
// to, for [Middleware] to record. The host's authentication calls it once
// it has looked the key up, with the key's ID, never the secret. A request
// the host refuses can still name the key it tried (a revoked one, say), so
// that its owner sees the refusal. Outside the middleware it does nothing.
func SetKey(ctx context.Context, keyID, account string) {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		st.mu.Lock()
		st.keyID, st.account = keyID, account
		st.mu.Unlock()
	}
}

// SetErrorCode attaches the error code of the request that ctx belongs to,
// e.g. "BSE4006", for [Middleware] to record. Outside the middleware it
// does nothing.
func SetErrorCode(ctx context.Context, code string) {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		st.mu.Lock()
		st.errorCode = code
		st.mu.Unlock()
	}
}

// RequestID returns the request ID [Middleware] recorded for the request
// that ctx belongs to, for the host to put in error bodies; "" outside the
// middleware.
func RequestID(ctx context.Context) string {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.id[0]
	}
	return ""
}

type stateKey struct{}

// requestState is everything the middleware keeps for one request, in one
// allocation. It is the request's context too, which saves the allocation
// of a context.WithValue.
type requestState struct {
	context.Context
	rw    responseWriter
	start time.Time
	id    [1]string // the response header's value slice, too

	method, path string
	addr         netip.Addr // the client's, hashed by the recorder

	mu                        sync.Mutex
	keyID, account, errorCode string
}

// Value implements context.Context.
func (st *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return st
	}
	return st.Context.Value(key)
}

// requestID returns the request's sane ID, or a new one.
func requestID(values []string) string {
	if len(values) == 1 && saneRequestID(values[0]) {
		return values[0]
	}
	var b [16]byte
	for i := 0; i < len(b); i += 8 {
		u := rand.Uint64()
		for j := range 8 {
			b[i+j] = byte(u >> (8 * j))
		}
	}
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '=' || c == '~':
		default:
			return false
		}
	}
	return true
}

// maxPathLen is where the recorder cuts endpoints, in bytes.
const maxPathLen = 2048

// cutMarker ends a cut endpoint.
const cutMarker = "…"

// cleanText returns s readable on one line as it is: cut to at most limit
// bytes with cutMarker at the end, and with every character that could
// hide or reorder text, or break the line, made visible as U+FFFD: control
// characters, format characters (bidirectional controls, zero-width
// spaces, the byte order mark, word joiners: Unicode's Cf), line and
// paragraph separators, the other default-ignorable code points, and
// invalid UTF-8. The zero-width joiner and the variation selectors are
// dropped instead: they join and style emoji ("👩‍💻", "❤️"), which read
// almost alike without them.
func cleanText(s string, limit int) string {
	if len(s) <= limit && plainASCII(s) {
		return s
	}
	b := make([]byte, 0, min(len(s), limit+utf8.UTFMax))
	cut := false
	for _, c := range s { // an invalid byte comes as utf8.RuneError
		if c == '\u200d' || unicode.Is(unicode.Variation_Selector, c) {
			continue
		}
		if unicode.IsControl(c) || unicode.In(c, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point) {
			c = utf8.RuneError
		}
		if len(b)+utf8.RuneLen(c) > limit {
			cut = true
			break
		}
		b = utf8.AppendRune(b, c)
	}
	if cut {
		for len(b) > limit-len(cutMarker) {
			_, size := utf8.DecodeLastRune(b)
			b = b[:len(b)-size]
		}
		b = append(b, cutMarker...)
	}
	return string(b)
}

// plainASCII reports whether s is printable ASCII only.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// responseWriter captures the status a handler sends. The optional
// interfaces it has all pass through to the wrapped writer, and Unwrap
// lets http.ResponseController reach the rest. It has them whether or not
// the wrapped writer does, as net/http's own writers do; on one that does
// not, Flush does nothing and Hijack returns http.ErrNotSupported.
type responseWriter struct {
	http.ResponseWriter
	status int // 0 until the handler commits to one
}

// WriteHeader implements http.ResponseWriter. Informational 1xx codes other
// than 101 are not final, as in net/http.
func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom implements io.ReaderFrom, which net/http's writer uses to send
// files with sendfile.
func (w *responseWriter) ReadFrom(src io.Reader) (n int64, err error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	if n > 0 && w.status == 0 {
		w.status = http.StatusOK // the first bytes sent the header
	}
	return n, err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController's Flush calls.
func (w *responseWriter) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err == nil && w.status == 0 {
		w.status = http.StatusOK // a flush sends the header
	}
	return err
}

// Hijack implements http.Hijacker. A hijacked connection, such as a
// WebSocket, is recorded as 101 Switching Protocols.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
