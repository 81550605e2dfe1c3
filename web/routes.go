// Package web serves the HTTP API and pages over the store.
package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
)

// Service is what the handlers need from the store.
type Service interface {
	Ingest(ctx context.Context, body io.Reader, up store.Upload) (store.IngestResult, error)
	Stage(ctx context.Context, body io.Reader) (*store.Staged, error)
	Annotations(ctx context.Context, id string) (map[string]string, error)
	Attachments(ctx context.Context, id string) ([]store.Attachment, error)
	Attachment(ctx context.Context, id string, att int64) (store.Attachment, error)
	AddWebhook(ctx context.Context, w store.Webhook) (store.Webhook, error)
	RemoveWebhook(ctx context.Context, id int64) error
	Webhooks(ctx context.Context) ([]store.Webhook, error)
	GroupStatus(ctx context.Context, sig string) (store.GroupStatus, error)
	SetGroupStatus(ctx context.Context, g store.GroupStatus) (store.GroupStatus, error)
	UpdateGroup(ctx context.Context, c store.GroupChange) (store.GroupStatus, error)
	GroupEvents(ctx context.Context, sig string, limit, offset int) (store.GroupEventPage, error)
	GroupEnds(ctx context.Context, sig string) ([]store.Dump, error)
	RecentDeliveries(ctx context.Context, limit int) ([]store.Delivery, error)
	Dump(ctx context.Context, id string) (store.Dump, error)
	Report(ctx context.Context, id string) (store.Dump, []byte, error)
	ListDumps(ctx context.Context, q store.ListQuery) (store.DumpPage, error)
	OpenFile(ctx context.Context, id string) (store.Dump, store.Blob, error)
	Reanalyze(ctx context.Context, id string) error
	ReanalyzeAll(ctx context.Context, skipVersion string) (int, error)
	DeleteDump(ctx context.Context, id string) (store.Dump, error)
	store.Dashboard
	store.Auth
}

// DefaultMaxUploadBytes is the default upload size limit (32 GiB): full
// dumps of large processes must fit.
const DefaultMaxUploadBytes = 32 << 30

// Session lifetimes by default: a day without use, a week at most.
const (
	DefaultSessionIdle   = 24 * time.Hour
	DefaultSessionMaxAge = 7 * 24 * time.Hour
)

// Config tunes the server.
type Config struct {
	MaxUploadBytes  int64        // default DefaultMaxUploadBytes
	AnalyzerVersion string       // for POST /api/reanalyze?outdated=1
	Logger          *slog.Logger // default: discard
	// Uploader names who sends a request, for dumps.uploaded_by; nil means
	// the authenticated user's name.
	Uploader func(r *http.Request) string
	// A request body that sends nothing for BodyIdleTimeout, or less than
	// BodyMinRate bytes a second on average, is cut off. Defaults:
	// DefaultBodyIdleTimeout, DefaultBodyMinRate.
	BodyIdleTimeout time.Duration
	BodyMinRate     int64
	// PublicURL is the server's address as users reach it (scheme, host,
	// port). Copied links and share URLs are built from it, never from the
	// request's Host; default http://ListenAddr.
	PublicURL string
	// ListenAddr is the address served; its host passes the Host check.
	ListenAddr string
	// SetupToken opens the first-run page from other machines than this
	// one while no user exists (the serve command logs the URL).
	SetupToken string
	// Session lifetimes: unused, and in all.
	SessionIdle, SessionMaxAge time.Duration
	// Per-user upload limits; 0 is unlimited.
	UploadsPerMinute  int
	UploadBytesPerDay int64
	// Symbols is the server's symbol store; nil leaves out the symbol
	// endpoints and pages.
	Symbols SymbolService
}

// Server holds the handlers' dependencies.
type Server struct {
	svc    Service
	cfg    Config
	log    *slog.Logger
	public *url.URL
	secure bool            // the public URL is https: Secure cookies, HSTS
	hosts  map[string]bool // host names the Host check lets in
	rules  map[string]perm // "METHOD pattern" -> rule, for tests
}

// New makes a Server.
func New(svc Service, cfg Config) *Server {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyIdleTimeout <= 0 {
		cfg.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	if cfg.BodyMinRate <= 0 {
		cfg.BodyMinRate = DefaultBodyMinRate
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = DefaultSessionMaxAge
	}
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger, hosts: map[string]bool{"localhost": true}}
	if cfg.PublicURL == "" {
		cfg.PublicURL = PublicURLFor(cfg.ListenAddr)
		s.cfg.PublicURL = cfg.PublicURL
	}
	if u, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/")); err == nil && u.Host != "" {
		s.public = u
		s.secure = u.Scheme == "https"
		s.hosts[strings.ToLower(u.Hostname())] = true
	}
	if h, _, err := net.SplitHostPort(cfg.ListenAddr); err == nil && h != "" {
		s.hosts[strings.ToLower(h)] = true
	}
	return s
}

// PublicURLFor is the default public URL for a listen address: an
// unspecified host (0.0.0.0, ::) becomes localhost.
func PublicURLFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// absURL is a path on this server as users reach it.
func (s *Server) absURL(path string) string {
	if s.public == nil {
		return path
	}
	return strings.TrimSuffix(s.public.String(), "/") + path
}

// Routes lists every route with its permission rule (see perm). No Timeout
// middleware: uploads and downloads of multi-gigabyte dumps take as long as
// they take. Every GET route answers HEAD too.
func (s *Server) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, clientIP, s.logRequests, s.recoverer, s.slowBodies, s.securityHeaders, s.checkHost, s.authenticate)
	s.rules = map[string]perm{}
	add := func(method, pattern string, p perm, h http.HandlerFunc) {
		s.rules[method+" "+pattern] = p
		r.Method(method, pattern, s.require(p, h))
		if method == http.MethodGet {
			s.rules["HEAD "+pattern] = p
			r.Method(http.MethodHead, pattern, s.require(p, h))
		}
	}
	get, post, del := http.MethodGet, http.MethodPost, http.MethodDelete

	add(post, "/api/dumps", permUpload, s.apiDumpUpload)
	add(get, "/api/dumps", permRead, s.apiDumpList)
	add(get, "/api/dumps/{id}", permRead, s.apiDumpShow)
	add(del, "/api/dumps/{id}", permMember, s.apiDumpDelete)
	add(get, "/api/dumps/{id}/file", permRead, s.apiDumpFile)
	add(post, "/api/dumps/{id}/reanalyze", permMember, s.apiDumpReanalyze)
	add(post, "/api/reanalyze", permAdmin, s.apiReanalyzeAll)
	add(post, "/api/dumps/{id}/shares", permMember, s.apiShareCreate)
	add(get, "/api/dumps/{id}/shares", permRead, s.apiShareList)
	add(del, "/api/dumps/{id}/shares/{share_id}", permMember, s.apiShareRevoke)
	add(get, "/api/dumps/{id}/attachments/{att}", permRead, s.apiDumpAttachment)
	add(get, "/api/signatures", permRead, s.apiSignatureList)
	add(get, "/api/signatures/{signature}", permRead, s.apiSignatureShow)
	add(get, "/api/signatures/{signature}/events", permRead, s.apiGroupEvents)
	add(get, "/api/signatures/{signature}/compare", permRead, s.apiGroupCompare)
	add(post, "/api/signatures/{signature}/status", permMember, s.apiGroupUpdate)
	add(get, "/api/signature", permRead, redirectSignature(signatureAPI, s.fail)) // before /api/signatures/{signature}
	add(get, "/api/modules", permRead, s.apiModuleList)
	add(get, "/api/modules/{name}", permRead, s.apiModuleShow)
	add(get, "/api/trends", permRead, s.apiTrends)
	add(get, "/api/openapi.json", permPublic, s.apiOpenAPI)
	add(post, "/api/signature/status", permMember, s.apiGroupStatus)
	add(get, "/api/webhooks", permAdmin, s.apiWebhookList)
	add(post, "/api/webhooks", permAdmin, s.apiWebhookAdd)
	add(del, "/api/webhooks/{id}", permAdmin, s.apiWebhookRemove)
	add(post, "/signature/status", permMember, s.groupStatusForm)
	add(get, "/admin/webhooks", permAdmin, s.webhookList)
	add(post, "/admin/webhooks", permAdmin, s.webhookAdd)
	add(post, "/admin/webhooks/{id}/remove", permAdmin, s.webhookRemove)
	// Crash reporters: the handlers check an upload token from the URL, a
	// Bearer header or Sentry's X-Sentry-Auth.
	add(post, "/api/minidump", permReporter, s.apiMinidump)
	add(post, "/api/{project}/minidump", permReporter, s.apiSentryMinidump)
	add(post, "/api/{project}/minidump/", permReporter, s.apiSentryMinidump)
	// Unreal's CrashReportClient: Sentry's path, and one for a DataRouterUrl
	// without a project. The key in the path is the upload token.
	add(post, "/api/{project}/unreal/{key}", permReporter, s.apiUnreal)
	add(post, "/api/{project}/unreal/{key}/", permReporter, s.apiUnreal)
	add(post, "/api/unreal/{key}", permReporter, s.apiUnreal)
	add(post, "/api/unreal/{key}/", permReporter, s.apiUnreal)

	if s.cfg.Symbols != nil {
		add(post, "/api/symbols", permUpload, s.apiSymbolUpload)
		add(get, "/api/symbols", permRead, s.apiSymbolList)
		add(get, "/api/symbols/servers", permRead, s.apiSymbolServers)
		add(post, "/api/symbols/servers", permAdmin, s.apiSymbolServersChange)
		// sentry-cli's debug-files upload (Sentry's chunk-upload protocol).
		add(get, "/api/0/organizations/{org}/chunk-upload/", permUpload, s.sentryChunkOptions)
		add(post, "/api/0/organizations/{org}/chunk-upload/", permUpload, s.sentryChunkUpload)
		add(post, "/api/0/projects/{org}/{project}/files/difs/assemble/", permUpload, s.sentryAssemble)
		add(get, "/symbols", permRead, s.symbolList)
		add(post, "/symbols", permUpload, s.symbolUploadForm)
		add(post, "/settings/symbols", permAdmin, s.symbolSettings)
	}

	add(get, "/static/*", permPublic, s.static)
	add(get, "/healthz", permPublic, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	add(get, "/login", permPublic, s.loginForm)
	add(post, "/login", permPublic, s.login)
	add(post, "/logout", permAccount, s.logout)
	add(get, "/setup", permSetup, s.setupForm)
	add(post, "/setup", permSetup, s.setup)
	add(get, "/s/{token}", permShare, s.shareShow)
	add(get, "/s/{token}/file", permShare, s.shareFile)

	add(get, "/", permRead, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/dumps", http.StatusFound) })
	add(get, "/dumps", permRead, s.dumpList)
	add(get, "/dumps/{id}", permRead, s.dumpShow)
	add(get, "/dumps/{id}/status", permRead, s.dumpStatus)
	add(get, "/dumps/{id}/report.json", permRead, s.dumpReportJSON)
	add(post, "/dumps/{id}/delete", permMember, s.dumpDelete)
	add(post, "/dumps/{id}/shares", permMember, s.dumpShareCreate)
	add(post, "/dumps/{id}/shares/{share_id}/revoke", permMember, s.dumpShareRevoke)
	add(get, "/upload", permUpload, s.dumpUploadForm)
	add(post, "/upload", permUpload, s.dumpUpload)
	add(get, "/signatures", permRead, s.signatureList)
	add(get, "/signatures/{signature}", permRead, s.signatureShow)
	add(get, "/signatures/{signature}/compare", permRead, s.groupCompare)
	add(post, "/signatures/{signature}/status", permMember, s.groupForm)
	add(get, "/signature", permRead, redirectSignature(signaturePage, s.failPage)) // before /signatures/{signature}
	add(get, "/modules", permRead, s.moduleList)
	add(get, "/modules/{name}", permRead, s.moduleShow)
	add(get, "/trends", permRead, s.trends)

	add(get, "/account", permAccount, s.accountShow)
	add(post, "/account/password", permAccount, s.accountPassword)
	add(post, "/account/tokens", permAccount, s.accountTokenCreate)
	add(post, "/account/tokens/{token_id}/revoke", permAccount, s.accountTokenRevoke)
	add(get, "/admin/users", permAdmin, s.userList)
	add(post, "/admin/users", permAdmin, s.userAdd)
	add(post, "/admin/users/{name}/role", permAdmin, s.userRole)
	add(post, "/admin/users/{name}/remove", permAdmin, s.userRemove)
	add(get, "/admin/audit", permAdmin, s.auditList)

	r.NotFound(s.notFound)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.deny(w, r, http.StatusMethodNotAllowed, "method not allowed")
	})
	return r
}
