// SIGINT/SIGTERM/SIGHUP become a cancellation request that long operations poll; gpucr never
// dies half-way from these signals (see core/checkpoint.cpp: a cancelled checkpoint rolls back).
#pragma once

namespace gpucr::signals {

// Installs the handlers (idempotent). SIGPIPE is ignored.
void install_cancel_handlers();
bool cancel_requested();
// The first signal received, 0 when none.
int cancel_signal();
// Forgets the request (after it was acted on, e.g. forwarded to a restored tree; and in tests).
void clear();

}  // namespace gpucr::signals
