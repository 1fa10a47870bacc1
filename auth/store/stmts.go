package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxPrepared bounds the statements a readPool keeps: the store's queries
// are fixed strings plus a few filter combinations, far fewer than this.
const maxPrepared = 256

// readPool is the pool reads go through. On SQLite it prepares each query
// once and reuses the statement: in modernc.org/sqlite parsing a query
// costs more than running a point lookup. database/sql prepares a
// statement on each connection the first time it runs there.
type readPool struct {
	*sql.DB
	prepare bool

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newReadPool(db *sql.DB, prepare bool) *readPool {
	return &readPool{DB: db, prepare: prepare, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement of query, or nil when statements
// are not kept (PostgreSQL: pgx caches them itself) or the cache is full.
func (p *readPool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if !p.prepare {
		return nil, nil
	}
	p.mu.RLock()
	s, ok := p.stmts[query]
	full := len(p.stmts) >= maxPrepared
	p.mu.RUnlock()
	if ok || full {
		return s, nil
	}
	s, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.stmts[query]; ok {
		s.Close() // prepared twice at once; keep the first
		return prev, nil
	}
	p.stmts[query] = s
	return s, nil
}

// QueryContext runs query through its prepared statement.
func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := p.stmt(ctx, query)
	if err != nil || s == nil {
		// Unprepared, or a query that fails to prepare: the plain query
		// reports the same error.
		return p.DB.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs query through its prepared statement.
func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := p.stmt(ctx, query)
	if err != nil || s == nil {
		return p.DB.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// Close closes the statements and the pool.
func (p *readPool) Close() error {
	p.mu.Lock()
	var errs []error
	for q, s := range p.stmts {
		errs = append(errs, s.Close())
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return errors.Join(append(errs, p.DB.Close())...)
}
