package asset

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. The HTTP layer maps each code
// to a status; clients may rely on the code strings.
type Code string

// The error codes of the domain.
const (
	CodeInvalid          Code = "invalid_request"        // 400
	CodeNotFound         Code = "not_found"              // 404
	CodeForbidden        Code = "forbidden"              // 403
	CodeTooLarge         Code = "too_large"              // 413
	CodeUnsupportedMedia Code = "unsupported_media_type" // 415
	CodePrecondition     Code = "precondition_failed"    // 412
	CodeUnprocessable    Code = "unprocessable_content"  // 422
	CodeUnavailable      Code = "unavailable"            // 503
	CodeInternal         Code = "internal"               // 500
)

// Error is a domain error: a Code, a Detail sentence that a client can act on,
// and an optional wrapped cause that is logged but never shown to clients.
type Error struct {
	Code   Code
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted detail.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and detail that keeps err as its cause.
func Wrap(code Code, err error, detail string) *Error {
	return &Error{Code: code, Detail: detail, Err: err}
}

// ErrNotFound is returned by Repository finders when nothing matches.
var ErrNotFound = &Error{Code: CodeNotFound, Detail: "No asset matches this path and selector."}

// ErrModified is returned by Repository.Update when the entry changed since
// it was read.
var ErrModified = &Error{Code: CodePrecondition, Detail: "The entry changed since it was read; fetch it again and retry."}

// CodeOf returns the Code of the first *Error in err's chain, or CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Is makes errors.Is(err, sentinel) true for any *Error with the sentinel's
// code, when the sentinel has no cause (such as ErrNotFound).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Err == nil && t.Code == e.Code
}
