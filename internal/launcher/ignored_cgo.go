//go:build cgo

package launcher

/*
#include <signal.h>
#include <stdint.h>

static uint64_t carrot_ignored;

// Runs when the binary is loaded, before the Go runtime starts and
// replaces the handlers of the signals it catches, forgetting which of them
// were ignored.
__attribute__((constructor)) static void carrot_record_ignored(void) {
	for (int s = 1; s <= 64; s++) {
		struct sigaction sa;
		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			carrot_ignored |= (uint64_t)1 << (s - 1);
	}
}

static uint64_t carrot_ignored_at_start(void) { return carrot_ignored; }
*/
import "C"

func ignoredAtStart() uint64 { return uint64(C.carrot_ignored_at_start()) }
