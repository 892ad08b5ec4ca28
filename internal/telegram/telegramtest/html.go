package telegramtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// allowedTags are Telegram's HTML parse-mode tags.
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true,
	"span": true, "tg-spoiler": true, "blockquote": true,
}

// ParseHTML parses text in Telegram's HTML parse mode as strictly as the
// Bot API documents it: only the supported tags, properly nested and
// closed; <a> needs an href; every "<", ">" and "&" that is not markup must
// be written &lt; &gt; &amp;; only &lt; &gt; &amp; &quot; and numeric
// entities exist. It returns the visible text.
func ParseHTML(s string) (string, error) {
	var out strings.Builder
	var stack []string
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := s[i+1 : i+end]
			if strings.ContainsAny(tag, "<") {
				return "", fmt.Errorf("unexpected '<' in tag at byte offset %d", i)
			}
			if name, ok := strings.CutPrefix(tag, "/"); ok {
				name = strings.ToLower(strings.TrimSpace(name))
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return "", fmt.Errorf("unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, top(stack), name)
				}
				stack = stack[:len(stack)-1]
			} else {
				name, attrs, _ := strings.Cut(tag, " ")
				name = strings.ToLower(name)
				if !allowedTags[name] {
					return "", fmt.Errorf("unsupported start tag \"%s\" at byte offset %d", name, i)
				}
				if err := checkAttrs(name, attrs); err != nil {
					return "", fmt.Errorf("%v at byte offset %d", err, i)
				}
				stack = append(stack, name)
			}
			i += end + 1
		case '>':
			return "", fmt.Errorf("character '>' is reserved and must be escaped at byte offset %d", i)
		case '&':
			end := strings.IndexByte(s[i:], ';')
			if end < 0 || end > 10 {
				return "", fmt.Errorf("character '&' is reserved and must be escaped at byte offset %d", i)
			}
			r, err := entity(s[i+1 : i+end])
			if err != nil {
				return "", fmt.Errorf("%v at byte offset %d", err, i)
			}
			out.WriteString(r)
			i += end + 1
		default:
			out.WriteByte(c)
			i++
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("can't find end tag corresponding to start tag \"%s\"", top(stack))
	}
	return out.String(), nil
}

func top(stack []string) string {
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1]
}

func entity(name string) (string, error) {
	switch name {
	case "lt":
		return "<", nil
	case "gt":
		return ">", nil
	case "amp":
		return "&", nil
	case "quot":
		return `"`, nil
	}
	if n, ok := strings.CutPrefix(name, "#"); ok {
		base := 10
		if h, ok := strings.CutPrefix(n, "x"); ok {
			n, base = h, 16
		}
		v, err := strconv.ParseInt(n, base, 32)
		if err == nil && v > 0 && v <= 0x10FFFF {
			return string(rune(v)), nil
		}
	}
	return "", fmt.Errorf("unsupported HTML entity \"&%s;\"", name)
}

// checkAttrs accepts href="…" on <a>, class="tg-spoiler" on <span> and
// class="language-…" on <code>; attribute values may use entities but no
// raw '<' or '"'.
func checkAttrs(tag, attrs string) error {
	attrs = strings.TrimSpace(attrs)
	switch tag {
	case "a":
		v, ok := attrValue(attrs, "href")
		if !ok {
			return errors.New("<a> without a quoted href")
		}
		if _, err := ParseHTML(v); err != nil || strings.ContainsAny(v, "<>") {
			return errors.New("bad href value")
		}
		return nil
	case "span":
		if v, ok := attrValue(attrs, "class"); ok && v == "tg-spoiler" {
			return nil
		}
		return errors.New("<span> needs class=\"tg-spoiler\"")
	case "code":
		if attrs == "" {
			return nil
		}
		if v, ok := attrValue(attrs, "class"); ok && strings.HasPrefix(v, "language-") {
			return nil
		}
		return errors.New("unsupported attribute on <code>")
	}
	if attrs != "" {
		return fmt.Errorf("unsupported attribute on <%s>", tag)
	}
	return nil
}

func attrValue(attrs, name string) (string, bool) {
	rest, ok := strings.CutPrefix(attrs, name+`="`)
	if !ok || !strings.HasSuffix(rest, `"`) {
		return "", false
	}
	v := rest[:len(rest)-1]
	if strings.Contains(v, `"`) {
		return "", false
	}
	return v, true
}
