package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// SymbolUpstream is a SymSrv server that analyses fetch images and symbol
// files from, through a local cache of its own. Nothing is fetched from a
// server until an administrator enables it.
type SymbolUpstream struct {
	ID      string // a preset's id, or "custom-N"
	Name    string
	URL     string
	Serves  string // what the server has
	Note    string // caveats: plain http, an address taken from third parties
	Custom  bool   // added by an administrator, not a preset
	Enabled bool
}

// SymbolPresets are the public symbol servers an administrator can enable
// in one step, in their default order. The URLs are the ones their owners
// document (Microsoft, Unity, Mozilla) or that Mozilla's own system-symbol
// job uses (NVIDIA, AMD, Intel); Chromium's is the one its Windows
// debugging guide names.
var SymbolPresets = []SymbolUpstream{
	{ID: "microsoft", Name: "Microsoft", URL: MicrosoftSymbolServer,
		Serves: "Windows' own modules (ntdll, kernel32, kernelbase, ucrtbase, d3d11, ...): their PDBs and images, which name the frames and give the unwind data of every system DLL."},
	{ID: "unity", Name: "Unity", URL: "http://symbolserver.unity3d.com",
		Serves: "Unity's player and editor: UnityPlayer.dll, Unity.exe, mono-2.0-bdwgc.dll and the other engine modules of released Unity versions, PDBs and images.",
		Note:   "Plain http, as Unity documents it: files are checked against the dump's ids before use, but the transfer is not private."},
	{ID: "nvidia", Name: "NVIDIA", URL: "https://driver-symbols.nvidia.com",
		Serves: "NVIDIA's display drivers (nvwgf2umx.dll, nvoglv64.dll, nvlddmkm.sys, ...): public PDBs and images of released drivers, for crashes inside the graphics driver.",
		Note:   "Address as used by Mozilla's system-symbol job; NVIDIA does not document coverage."},
	{ID: "amd", Name: "AMD", URL: "https://download.amd.com/dir/bin",
		Serves: "AMD's display drivers (atidxx64.dll, amdxc64.dll, atio6axx.dll, ...): public PDBs and images of released drivers.",
		Note:   "Address as used by Mozilla's system-symbol job; AMD does not document coverage."},
	{ID: "intel", Name: "Intel", URL: "https://software.intel.com/sites/downloads/symbols",
		Serves: "Intel's graphics drivers (igd10iumd64.dll, igc64.dll, ...): public PDBs and images of released drivers.",
		Note:   "Address as used by Mozilla's system-symbol job; Intel has moved its sites since, so this one may answer nothing."},
	{ID: "mozilla", Name: "Mozilla", URL: "https://symbols.mozilla.org",
		Serves: "Firefox and Thunderbird release and nightly builds (xul.dll, firefox.exe, mozglue.dll, ...): PDBs, images and Breakpad .sym files.",
	},
	{ID: "chromium", Name: "Chromium", URL: "https://chromium-browser-symsrv.commondatastorage.googleapis.com",
		Serves: "Google Chrome and Chromium official builds (chrome.dll, chrome.exe, chrome_elf.dll, ...): PDBs and images. Electron apps and CEF-based games use their own builds, which it does not have.",
		Note:   "Case-sensitive storage: files are asked for by the ids in the dump as they are written there."},
}

// Bounds of the upstream list.
const (
	maxCustomUpstreams = 16
	maxUpstreamURL     = 2048
)

// Setting keys of the upstream list; settingSymbolUpstream is the single
// upstream of earlier versions, read when the list was never saved.
const settingSymbolUpstreams = "symbols.upstreams"

type storedUpstream struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"` // custom ones only; presets keep theirs
	On  bool   `json:"on"`
}

func presetByID(id string) (SymbolUpstream, bool) {
	for _, p := range SymbolPresets {
		if p.ID == id {
			return p, true
		}
	}
	return SymbolUpstream{}, false
}

// Upstreams lists every symbol server in search order: the enabled ones in
// the order set, then the rest (presets not enabled, custom ones switched
// off).
func (s *Symbols) Upstreams(ctx context.Context) ([]SymbolUpstream, error) {
	stored, err := s.storedUpstreams(ctx)
	if err != nil {
		return nil, err
	}
	return expandUpstreams(stored), nil
}

func expandUpstreams(stored []storedUpstream) []SymbolUpstream {
	var on, off []SymbolUpstream
	seen := map[string]bool{}
	for _, st := range stored {
		u, ok := presetByID(st.ID)
		if !ok {
			u = SymbolUpstream{ID: st.ID, Name: "Custom", URL: st.URL, Custom: true,
				Serves: "A symbol server an administrator added."}
		}
		u.Enabled = st.On
		seen[st.ID] = true
		if u.Enabled {
			on = append(on, u)
		} else {
			off = append(off, u)
		}
	}
	for _, p := range SymbolPresets {
		if !seen[p.ID] {
			off = append(off, p)
		}
	}
	return append(on, off...)
}

func (s *Symbols) storedUpstreams(ctx context.Context) ([]storedUpstream, error) {
	raw, err := s.Index.Setting(ctx, settingSymbolUpstreams)
	if err != nil {
		return nil, err
	}
	if raw == "" {
		// The single upstream of earlier versions.
		legacy, err := s.Index.Setting(ctx, settingSymbolUpstream)
		if err != nil || legacy == "" {
			return nil, err
		}
		for _, p := range SymbolPresets {
			if strings.EqualFold(p.URL, legacy) {
				return []storedUpstream{{ID: p.ID, On: true}}, nil
			}
		}
		return []storedUpstream{{ID: "custom-1", URL: legacy, On: true}}, nil
	}
	var list []storedUpstream
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("setting %s: %w", settingSymbolUpstreams, err)
	}
	return list, nil
}

func (s *Symbols) saveUpstreams(ctx context.Context, list []storedUpstream) error {
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	if err := s.Index.SetSetting(ctx, settingSymbolUpstreams, string(b)); err != nil {
		return err
	}
	return s.Index.SetSetting(ctx, settingSymbolUpstream, "")
}

// Upstream list changes.
const (
	UpstreamEnable  = "enable"
	UpstreamDisable = "disable"
	UpstreamUp      = "up"
	UpstreamDown    = "down"
	UpstreamAdd     = "add"    // a custom URL, enabled, searched last
	UpstreamRemove  = "remove" // a custom one
)

// ChangeUpstreams applies one change to the upstream list. Only
// administrators may call it: a custom URL makes the analysis workers send
// requests wherever it names.
func (s *Symbols) ChangeUpstreams(ctx context.Context, action, id, rawURL string) error {
	s.upstreamMu.Lock()
	defer s.upstreamMu.Unlock()
	stored, err := s.storedUpstreams(ctx)
	if err != nil {
		return err
	}
	// Work on the full list in search order, so positions are the page's.
	full := expandUpstreams(stored)
	list := make([]storedUpstream, len(full))
	for i, u := range full {
		list[i] = storedUpstream{ID: u.ID, On: u.Enabled}
		if u.Custom {
			list[i].URL = u.URL
		}
	}
	at := slices.IndexFunc(list, func(u storedUpstream) bool { return u.ID == id })
	if action != UpstreamAdd && at < 0 {
		return fmt.Errorf("%w: no symbol server %q", ErrBadRequest, id)
	}
	switch action {
	case UpstreamEnable, UpstreamDisable:
		// An enabled server goes after the others enabled; a disabled one
		// leaves their order.
		u := list[at]
		u.On = action == UpstreamEnable
		list = slices.Delete(list, at, at+1)
		n := 0
		for n < len(list) && list[n].On {
			n++
		}
		list = slices.Insert(list, n, u)
	case UpstreamUp:
		if at > 0 && list[at].On {
			list[at-1], list[at] = list[at], list[at-1]
		}
	case UpstreamDown:
		if at+1 < len(list) && list[at].On && list[at+1].On {
			list[at], list[at+1] = list[at+1], list[at]
		}
	case UpstreamRemove:
		if !strings.HasPrefix(list[at].ID, "custom-") {
			return fmt.Errorf("%w: a preset is disabled, not removed", ErrBadRequest)
		}
		list = slices.Delete(list, at, at+1)
	case UpstreamAdd:
		u, err := CheckUpstreamURL(rawURL)
		if err != nil {
			return err
		}
		customs, next := 0, 1
		for i, e := range list {
			if strings.EqualFold(upstreamURL(e), u) {
				list[i].On = true
				return s.saveUpstreams(ctx, list)
			}
			var n int
			if _, err := fmt.Sscanf(e.ID, "custom-%d", &n); err == nil {
				customs++
				next = max(next, n+1)
			}
		}
		if customs >= maxCustomUpstreams {
			return fmt.Errorf("%w: at most %d custom symbol servers", ErrBadRequest, maxCustomUpstreams)
		}
		n := 0
		for n < len(list) && list[n].On {
			n++
		}
		list = slices.Insert(list, n, storedUpstream{ID: fmt.Sprintf("custom-%d", next), URL: u, On: true})
	default:
		return fmt.Errorf("%w: unknown change %q", ErrBadRequest, action)
	}
	return s.saveUpstreams(ctx, list)
}

func upstreamURL(u storedUpstream) string {
	if p, ok := presetByID(u.ID); ok {
		return p.URL
	}
	return u.URL
}

// CheckUpstreamURL validates a custom symbol server's URL and returns it
// without a trailing slash: http or https, a host, no credentials (every
// reader sees the list), no query or fragment, and none of the symbol
// path's separators.
func CheckUpstreamURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: the symbol server URL %s", ErrBadRequest, why)
	}
	if raw == "" || len(raw) > maxUpstreamURL {
		return bad(fmt.Sprintf("must be 1 to %d characters", maxUpstreamURL))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return bad("must be an http or https URL")
	case u.User != nil:
		return bad("may not carry credentials: every reader sees it")
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "*;?# \t\r\n"):
		return bad("may not have a query, a fragment, spaces, '*' or ';'")
	}
	return strings.TrimRight(raw, "/"), nil
}

// SetUpstream is the single-upstream form of earlier versions: "" disables
// every server; a URL enables the preset with that URL, or adds it as a
// custom server.
func (s *Symbols) SetUpstream(ctx context.Context, raw string) error {
	if strings.TrimSpace(raw) == "" {
		list, err := s.Upstreams(ctx)
		if err != nil {
			return err
		}
		for _, u := range list {
			if u.Enabled {
				if err := s.ChangeUpstreams(ctx, UpstreamDisable, u.ID, ""); err != nil {
					return err
				}
			}
		}
		return nil
	}
	u, err := CheckUpstreamURL(raw)
	if err != nil {
		return err
	}
	for _, p := range SymbolPresets {
		if strings.EqualFold(p.URL, u) {
			return s.ChangeUpstreams(ctx, UpstreamEnable, p.ID, "")
		}
	}
	return s.ChangeUpstreams(ctx, UpstreamAdd, "", u)
}

// upstreamPath is the symbol path of the enabled upstreams: each through
// its own cache directory, so disabling a server also stops the use of
// what it sent.
func (s *Symbols) upstreamPath(ctx context.Context) []string {
	list, err := s.Upstreams(ctx)
	if err != nil {
		return nil
	}
	var parts []string
	for _, u := range list {
		if u.Enabled {
			parts = append(parts, "srv*"+filepath.Join(s.cfg.CacheDir, u.ID)+"*"+u.URL)
		}
	}
	return parts
}
