package pe

import "fmt"

const (
	rtVersion          = 16         // RT_VERSION
	vsFixedFileInfoSig = 0xFEEF04BD // VS_FIXEDFILEINFO.dwSignature
	maxVersionRes      = 64 << 10
)

// VersionInfo returns VS_FIXEDFILEINFO's file version (dwFileVersionMS/LS)
// as "a.b.c.d", from the first RT_VERSION resource.
func (im *Image) VersionInfo() (fileVersion string, ok bool) { return im.version, im.hasVer }

// parseVersion walks IMAGE_RESOURCE_DIRECTORY type -> name -> language to
// the first RT_VERSION IMAGE_RESOURCE_DATA_ENTRY and finds VS_FIXEDFILEINFO
// in its VS_VERSIONINFO block.
func (im *Image) parseVersion() (string, bool) {
	root, _ := im.DataDirectory(DirResource)
	if root == 0 {
		return "", false
	}
	// Level 1: the entry whose ID is RT_VERSION; levels 2 and 3: the first.
	off, ok := im.resourceEntry(root, 0, true)
	for level := 0; ok && level < 2; level++ {
		if off&0x80000000 == 0 {
			break
		}
		off, ok = im.resourceEntry(root, off&0x7FFFFFFF, false)
	}
	if !ok || off&0x80000000 != 0 {
		return "", false
	}
	de, err := im.readBytes(root+off, 16) // IMAGE_RESOURCE_DATA_ENTRY
	if err != nil {
		return "", false
	}
	b, err := im.readBytes(le32(de), min(le32(de[4:]), maxVersionRes))
	if err != nil {
		return "", false
	}
	// VS_VERSIONINFO: wLength, wValueLength, wType, L"VS_VERSION_INFO",
	// padding, then VS_FIXEDFILEINFO on a 32-bit boundary.
	for i := 0; i+52 <= len(b) && i < 256; i += 4 {
		if le32(b[i:]) == vsFixedFileInfoSig {
			ms, ls := le32(b[i+8:]), le32(b[i+12:])
			return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xFFFF, ls>>16, ls&0xFFFF), true
		}
	}
	return "", false
}

// resourceEntry reads the IMAGE_RESOURCE_DIRECTORY at root+dir and returns
// OffsetToData of its RT_VERSION entry (wantVersion) or of its first entry.
func (im *Image) resourceEntry(root, dir uint32, wantVersion bool) (uint32, bool) {
	d, err := im.readBytes(root+dir, 16)
	if err != nil {
		return 0, false
	}
	named, ids := uint32(le16(d[12:])), uint32(le16(d[14:]))
	n := named + ids
	if n == 0 {
		return 0, false
	}
	entries, err := im.readBytes(root+dir+16, n*8)
	if err != nil {
		return 0, false
	}
	if !wantVersion {
		return le32(entries[4:]), true
	}
	for i := named; i < n; i++ {
		if le32(entries[i*8:]) == rtVersion {
			return le32(entries[i*8+4:]), true
		}
	}
	return 0, false
}
