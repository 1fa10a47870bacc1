package resource

import "strings"

// SessionActivity is Clerk's latest_activity of a session: the device it
// was started from, read from the browser's user agent.
type SessionActivity struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	BrowserName    string `json:"browser_name"`
	BrowserVersion string `json:"browser_version"`
	DeviceType     string `json:"device_type"`
	IsMobile       bool   `json:"is_mobile"`
	IPAddress      string `json:"ip_address"`
}

// Device returns "Browser on OS" for a session list.
func (a *SessionActivity) Device() string {
	if a == nil || a.BrowserName == "" {
		return "Unknown device"
	}
	if a.DeviceType == "" {
		return a.BrowserName
	}
	return a.BrowserName + " on " + a.DeviceType
}

// ParseUserAgent reads the browser, its major version and the operating
// system from a user agent. It knows the common browsers only, which is
// all a sessions list needs; anything else is "Other".
func ParseUserAgent(ua string) SessionActivity {
	a := SessionActivity{Object: "session_activity"}
	if ua == "" {
		return a
	}
	// Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Chrome"},
		{"Chrome/", "Chrome"}, {"Version/", "Safari"}, {"curl/", "curl"},
	} {
		if i := strings.Index(ua, b.token); i >= 0 {
			a.BrowserName = b.name
			v := ua[i+len(b.token):]
			if j := strings.IndexAny(v, ". "); j >= 0 {
				v = v[:j]
			}
			a.BrowserVersion = v
			break
		}
	}
	if a.BrowserName == "" {
		a.BrowserName = "Other"
	}
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			a.DeviceType = o.name
			break
		}
	}
	a.IsMobile = strings.Contains(ua, "Mobile") || a.DeviceType == "iOS" || a.DeviceType == "Android"
	return a
}
