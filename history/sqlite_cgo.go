//go:build cgo

package history

// The sqlite3 driver (github.com/mattn/go-sqlite3, which needs cgo) as
// localperfdata registers it: with foreign keys on, which storage/db's
// schema relies on to delete an upload's labels with its records.
import _ "golang.org/x/perf/storage/db/sqlite3"
