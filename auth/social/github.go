package social

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// githubAPI reads the signed-in account from GitHub's REST API: GitHub is
// OAuth 2.0 without OpenID, so there is no ID token to verify; the
// access token, fresh from the code exchange, is the proof.
type githubAPI struct {
	base   string
	client *http.Client
}

type githubUser struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
}

type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// profile returns the account of accessToken with its verified primary
// address (or its first verified one).
func (g *githubAPI) profile(ctx context.Context, accessToken string) (*Profile, error) {
	var u githubUser
	if err := g.get(ctx, accessToken, "/user", &u); err != nil {
		return nil, err
	}
	if u.ID <= 0 {
		return nil, fmt.Errorf("social: github: /user has no id")
	}
	var emails []githubEmail
	if err := g.get(ctx, accessToken, "/user/emails", &emails); err != nil {
		return nil, err
	}
	p := &Profile{Subject: strconv.FormatInt(u.ID, 10), Username: u.Login, ImageURL: httpsURL(u.AvatarURL)}
	p.FirstName, p.LastName = splitName(u.Name)
	for _, e := range emails {
		if e.Primary {
			p.Email, p.EmailVerified = strings.TrimSpace(e.Email), e.Verified
		}
	}
	if !p.EmailVerified {
		for _, e := range emails {
			if e.Verified {
				p.Email, p.EmailVerified = strings.TrimSpace(e.Email), true
				break
			}
		}
	}
	return p, nil
}

func (g *githubAPI) get(ctx context.Context, accessToken, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+path, nil)
	if err != nil {
		return fmt.Errorf("social: github: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	res, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("social: github: GET %s: %w", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("social: github: GET %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("social: github: GET %s: %s", path, res.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("social: github: GET %s: %w", path, err)
	}
	return nil
}

// splitName splits GitHub's single name field at its first space.
func splitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	first, last, _ = strings.Cut(name, " ")
	return first, strings.TrimSpace(last)
}
