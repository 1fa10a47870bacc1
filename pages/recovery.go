package pages

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// The code pages of a sign-up and the forgot-password pages. Each is a
// plain form (303 after a POST that worked, the form again with the error
// next to its field when not); the attempt they continue is remembered in
// this browser by the auth doors.
const (
	signUpVerifyPath = "/sign-up/verify"
	forgotPath       = "/sign-in/forgot-password"
	forgotCodePath   = "/sign-in/forgot-password/code"
	forgotNewPath    = "/sign-in/forgot-password/new"
)

// lapsed reports whether err means the attempt is gone (none in this
// browser, or abandoned, completed or expired).
func lapsed(err error) bool {
	if errors.Is(err, auth.ErrNoAttempt) {
		return true
	}
	e, ok := auth.AsError(err)
	return ok && (e.Code == "verification_missing" || e.Code == "sign_up_abandoned")
}

// refusal turns an auth refusal into the form's messages: next to its
// field when it names one, above the form otherwise. ok is false for an
// error that is not a refusal (a 500).
func refusal(w http.ResponseWriter, err error) (status int, fields components.FieldErrors, msg string, ok bool) {
	e, ok := auth.AsError(err)
	if !ok {
		return 0, nil, "", false
	}
	e.SetRetryAfter(w)
	if e.Param != "" {
		return e.Status, components.FieldErrors{e.Param: e.Message}, "", true
	}
	return e.Status, nil, e.Message, true
}

// onCodeForm keeps only the code's message next to its field: a code
// form has no other field, so any other (the address taken meanwhile)
// shows above the form.
func onCodeForm(fields components.FieldErrors, msg string) (components.FieldErrors, string) {
	for k, v := range fields {
		if k != "code" {
			return nil, v
		}
	}
	return fields, msg
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// SignUpVerifyPage serves GET /sign-up/verify: the code of this browser's
// sign-up.
func (f *AuthForms) SignUpVerifyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := auth.PendingSignUp(r)
		if err != nil {
			f.restart(w, r, err, f.site.Env.SignUpURL)
			return
		}
		notice := ""
		if r.URL.Query().Get("sent") == "1" {
			notice = "We sent a new code."
		}
		f.renderSignUpCode(w, r, http.StatusOK, a, components.CodeFormProps{Notice: notice, RedirectURL: r.URL.Query().Get("redirect_url")})
	})
}

// restart sends a browser whose attempt lapsed back to the first step.
func (f *AuthForms) restart(w http.ResponseWriter, r *http.Request, err error, to string) {
	if lapsed(err) {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	formError(f.site, w, r, err)
}

func (f *AuthForms) renderSignUpCode(w http.ResponseWriter, r *http.Request, status int, a *auth.SignUpAttempt, p components.CodeFormProps) {
	p.Title, p.Email = "Check your email", a.Code.Email
	p.Action, p.ResendAction, p.BackURL = signUpVerifyPath, signUpVerifyPath+"/resend", f.site.Env.SignUpURL
	p.RedirectURL = f.site.Redirects.Safe(p.RedirectURL, "")
	p.ResendIn = seconds(a.Code.ResendIn)
	f.site.Render(w, r, status, "Verify your email", components.CodeForm(p))
}

// SignUpVerify serves POST /sign-up/verify.
func (f *AuthForms) SignUpVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		err = auth.VerifySignUp(w, r, form["code"])
		if err == nil {
			http.Redirect(w, r, f.site.Redirects.Safe(form["redirect_url"], f.site.SignUpFallback), http.StatusSeeOther)
			return
		}
		if lapsed(err) {
			f.restart(w, r, err, f.site.Env.SignUpURL)
			return
		}
		status, fields, msg, ok := refusal(w, err)
		if !ok {
			f.site.serverError(w, r, "sign-up code", err)
			return
		}
		a, aerr := auth.PendingSignUp(r)
		if aerr != nil {
			f.restart(w, r, aerr, f.site.Env.SignUpURL)
			return
		}
		fields, msg = onCodeForm(fields, msg)
		f.renderSignUpCode(w, r, status, a, components.CodeFormProps{Fields: fields, Error: msg, RedirectURL: form["redirect_url"]})
	})
}

// SignUpResend serves POST /sign-up/verify/resend.
func (f *AuthForms) SignUpResend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.ReadForm(w, r); err != nil {
			formError(f.site, w, r, err)
			return
		}
		_, err := auth.ResendSignUpCode(w, r)
		if err == nil {
			http.Redirect(w, r, signUpVerifyPath+"?sent=1", http.StatusSeeOther)
			return
		}
		if lapsed(err) {
			f.restart(w, r, err, f.site.Env.SignUpURL)
			return
		}
		status, _, msg, ok := refusal(w, err)
		if !ok {
			f.site.serverError(w, r, "sign-up resend", err)
			return
		}
		a, aerr := auth.PendingSignUp(r)
		if aerr != nil {
			f.restart(w, r, aerr, f.site.Env.SignUpURL)
			return
		}
		f.renderSignUpCode(w, r, status, a, components.CodeFormProps{Error: msg})
	})
}

// ForgotPasswordPage serves GET /sign-in/forgot-password.
func (f *AuthForms) ForgotPasswordPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.redirectIfSignedIn(w, r, f.site.SignInFallback) {
			return
		}
		f.renderForgot(w, r, http.StatusOK, components.ForgotPasswordProps{})
	})
}

func (f *AuthForms) renderForgot(w http.ResponseWriter, r *http.Request, status int, p components.ForgotPasswordProps) {
	p.SignInURL = f.site.Env.SignInURL
	f.site.Render(w, r, status, "Forgot password", components.ForgotPasswordForm(p))
}

// ForgotPassword serves POST /sign-in/forgot-password. Whether or not the
// address has an account, the answer is the same redirect to the code
// page, which says "if an account exists".
func (f *AuthForms) ForgotPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		if _, err := auth.StartPasswordReset(w, r, form["identifier"]); err != nil {
			status, fields, msg, ok := refusal(w, err)
			if !ok {
				f.site.serverError(w, r, "forgot password", err)
				return
			}
			f.renderForgot(w, r, status, components.ForgotPasswordProps{Identifier: form["identifier"], Fields: fields, Error: msg})
			return
		}
		http.Redirect(w, r, forgotCodePath, http.StatusSeeOther)
	})
}

// ResetCodePage serves GET /sign-in/forgot-password/code.
func (f *AuthForms) ResetCodePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := auth.PendingReset(r)
		if err != nil {
			f.restart(w, r, err, forgotPath)
			return
		}
		if a.Status == "needs_new_password" {
			http.Redirect(w, r, forgotNewPath, http.StatusSeeOther)
			return
		}
		notice := ""
		if r.URL.Query().Get("sent") == "1" {
			notice = "If an account exists for this address, we sent a new code."
		}
		f.renderResetCode(w, r, http.StatusOK, a, components.CodeFormProps{Notice: notice})
	})
}

func (f *AuthForms) renderResetCode(w http.ResponseWriter, r *http.Request, status int, a *auth.ResetAttempt, p components.CodeFormProps) {
	p.Title, p.Email = "Check your email", a.Code.Email
	p.Lead = "If an account exists for " + a.Code.Email + ", we sent it a 6-digit code. It expires in 10 minutes."
	p.Action, p.ResendAction, p.BackURL = forgotCodePath, forgotCodePath+"/resend", forgotPath
	p.ResendIn = seconds(a.Code.ResendIn)
	f.site.Render(w, r, status, "Reset your password", components.CodeForm(p))
}

// ResetCode serves POST /sign-in/forgot-password/code.
func (f *AuthForms) ResetCode() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		_, err = auth.VerifyResetCode(w, r, form["code"])
		if err == nil {
			http.Redirect(w, r, forgotNewPath, http.StatusSeeOther)
			return
		}
		f.resetCodeRefused(w, r, err)
	})
}

func (f *AuthForms) resetCodeRefused(w http.ResponseWriter, r *http.Request, err error) {
	if lapsed(err) {
		f.restart(w, r, err, forgotPath)
		return
	}
	status, fields, msg, ok := refusal(w, err)
	if !ok {
		f.site.serverError(w, r, "reset code", err)
		return
	}
	a, aerr := auth.PendingReset(r)
	if aerr != nil {
		f.restart(w, r, aerr, forgotPath)
		return
	}
	fields, msg = onCodeForm(fields, msg)
	f.renderResetCode(w, r, status, a, components.CodeFormProps{Fields: fields, Error: msg})
}

// ResetResend serves POST /sign-in/forgot-password/code/resend.
func (f *AuthForms) ResetResend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.ReadForm(w, r); err != nil {
			formError(f.site, w, r, err)
			return
		}
		if _, err := auth.ResendResetCode(w, r); err != nil {
			f.resetCodeRefused(w, r, err)
			return
		}
		http.Redirect(w, r, forgotCodePath+"?sent=1", http.StatusSeeOther)
	})
}

// NewPasswordPage serves GET /sign-in/forgot-password/new.
func (f *AuthForms) NewPasswordPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := auth.PendingReset(r)
		if err != nil || a.Status != "needs_new_password" {
			if err == nil {
				err = auth.ErrNoAttempt
			}
			f.restart(w, r, err, forgotPath)
			return
		}
		f.site.Render(w, r, http.StatusOK, "Choose a new password", components.NewPasswordForm(components.NewPasswordProps{}))
	})
}

// NewPassword serves POST /sign-in/forgot-password/new.
func (f *AuthForms) NewPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		err = auth.ResetPassword(w, r, form["password"], form["sign_out_of_other_sessions"] == "true")
		if err == nil {
			http.Redirect(w, r, f.site.SignInFallback, http.StatusSeeOther)
			return
		}
		if errors.Is(err, auth.ErrSecondFactorRequired) {
			// The new password is set; signing in still takes the code.
			http.Redirect(w, r, f.factorTwoURL(""), http.StatusSeeOther)
			return
		}
		if lapsed(err) {
			f.restart(w, r, err, forgotPath)
			return
		}
		status, fields, msg, ok := refusal(w, err)
		if !ok {
			f.site.serverError(w, r, "new password", err)
			return
		}
		f.site.Render(w, r, status, "Choose a new password", components.NewPasswordForm(components.NewPasswordProps{Fields: fields, Error: msg}))
	})
}
