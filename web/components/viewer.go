package components

import (
	"context"
	"net/url"
)

// Viewer is who looks at a page, as the layout shows it. The web layer puts
// it in the render context, so page views need not carry it.
type Viewer struct {
	Name   string // "" when anonymous
	Role   string
	CSRF   string // the session's CSRF token, sent back by forms and scripts
	Shared bool   // the page is seen through a share link: read-only, no navigation
}

type viewerKey struct{}

// WithViewer returns ctx carrying v.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the page's viewer.
func ViewerFrom(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

// CanWrite says whether the viewer may upload, share and reanalyze.
func (v Viewer) CanWrite() bool { return !v.Shared && (v.Role == "admin" || v.Role == "member") }

// Admin says whether the viewer is an admin.
func (v Viewer) Admin() bool { return !v.Shared && v.Role == "admin" }

// WithCSRF adds the viewer's CSRF token to a form action, for multipart
// forms whose body the server streams rather than parses.
func (v Viewer) WithCSRF(action string) string {
	return action + "?csrf=" + url.QueryEscape(v.CSRF)
}
