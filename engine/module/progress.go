package module

import "context"

type progressKey struct{}

// WithProgress returns a context whose Progress calls go to report. The
// runner sets one only when a person watches a terminal.
func WithProgress(ctx context.Context, report func(msg string)) context.Context {
	return context.WithValue(ctx, progressKey{}, report)
}

// Progress tells the person watching how a long Apply is going (bytes
// copied so far, say). Without a terminal it does nothing, so modules call
// it freely; it must never carry a secret.
func Progress(ctx context.Context, msg string) {
	if report, ok := ctx.Value(progressKey{}).(func(string)); ok {
		report(msg)
	}
}

// Watching reports whether Progress goes anywhere, so a module can skip
// the work of measuring.
func Watching(ctx context.Context) bool {
	_, ok := ctx.Value(progressKey{}).(func(string))
	return ok
}
