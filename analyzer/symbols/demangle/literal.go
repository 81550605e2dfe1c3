package demangle

import "strings"

// stringLiteral decodes the body of "??_C@_" <char-kind> <byte-length>
// <crc> '@' <chars> '@': the string literal symbols MSVC emits for "..."
// constants. Only the first 32 bytes of a literal are encoded.
func (p *parser) stringLiteral() *symbol {
	wide := false
	switch p.pop() {
	case '1':
		wide = true
	case '0':
	default:
		p.fail()
		return nil
	}
	size, neg := p.number()
	min := uint64(1)
	if wide {
		min = 2
	}
	if p.err || neg || size < min {
		p.fail()
		return nil
	}
	i := strings.IndexByte(p.s, '@')
	if i < 0 {
		p.fail()
		return nil
	}
	p.s = p.s[i+1:]
	if len(p.s) == 0 {
		p.fail()
		return nil
	}
	var b strings.Builder
	prefix := `"`
	truncated := false
	if wide {
		prefix = `L"`
		truncated = size > 64
		for !p.consume("@") {
			if len(p.s) < 2 {
				p.fail()
				return nil
			}
			hi := p.charLiteral()
			lo := p.charLiteral()
			if p.err {
				return nil
			}
			if size != 2 || truncated {
				escapeChar(&b, uint32(hi)<<8|uint32(lo))
			}
			size -= 2
		}
	} else {
		var raw []byte
		for !p.consume("@") {
			if len(p.s) == 0 || len(raw) >= 128 {
				p.fail()
				return nil
			}
			raw = append(raw, p.charLiteral())
			if p.err {
				return nil
			}
		}
		truncated = size > uint64(len(raw))
		width := guessCharWidth(raw, size)
		switch width {
		case 2:
			prefix = `u"`
		case 4:
			prefix = `U"`
		}
		n := len(raw) / width
		for ci := 0; ci < n; ci++ {
			var c uint32
			for k := 0; k < width; k++ {
				c |= uint32(raw[ci*width+k]) << (8 * k)
			}
			if ci+1 < n || truncated {
				escapeChar(&b, c)
			}
		}
	}
	text := prefix + b.String() + `"`
	if truncated {
		text += "..."
	}
	return &symbol{kind: sString, text: text}
}

func guessCharWidth(raw []byte, size uint64) int {
	if size%2 == 1 {
		return 1
	}
	if size < 32 {
		trailing := 0
		for i := len(raw) - 1; i >= 0 && raw[i] == 0; i-- {
			trailing++
		}
		if trailing >= 4 && size%4 == 0 {
			return 4
		}
		if trailing >= 2 {
			return 2
		}
		return 1
	}
	nulls := 0
	for _, c := range raw {
		if c == 0 {
			nulls++
		}
	}
	if nulls >= 2*len(raw)/3 && size%4 == 0 {
		return 4
	}
	if nulls >= len(raw)/3 {
		return 2
	}
	return 1
}

func (p *parser) charLiteral() byte {
	if len(p.s) == 0 {
		p.fail()
		return 0
	}
	if p.s[0] != '?' {
		c := p.s[0]
		p.s = p.s[1:]
		return c
	}
	p.s = p.s[1:]
	if len(p.s) == 0 {
		p.fail()
		return 0
	}
	c := p.s[0]
	switch {
	case c == '$':
		if len(p.s) < 3 {
			p.fail()
			return 0
		}
		hi, lo := p.s[1], p.s[2]
		if hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P' {
			p.fail()
			return 0
		}
		p.s = p.s[3:]
		return (hi-'A')<<4 | (lo - 'A')
	case c >= '0' && c <= '9':
		p.s = p.s[1:]
		return ",/\\:. \n\t'-"[c-'0']
	case c >= 'a' && c <= 'z':
		p.s = p.s[1:]
		return 0xE1 + (c - 'a')
	case c >= 'A' && c <= 'Z':
		p.s = p.s[1:]
		return 0xC1 + (c - 'A')
	}
	p.fail()
	return 0
}

func escapeChar(b *strings.Builder, c uint32) {
	switch c {
	case 0:
		b.WriteString(`\0`)
	case '\'':
		b.WriteString(`\'`)
	case '"':
		b.WriteString(`\"`)
	case '\\':
		b.WriteString(`\\`)
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		if c > 0x1f && c < 0x7f {
			b.WriteByte(byte(c))
			return
		}
		// \x followed by an even number of upper-case hex digits.
		var digits []byte
		for c != 0 {
			for i := 0; i < 2; i++ {
				digits = append(digits, "0123456789ABCDEF"[c%16])
				c /= 16
			}
		}
		b.WriteString(`\x`)
		for i := len(digits) - 1; i >= 0; i-- {
			b.WriteByte(digits[i])
		}
	}
}
