#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a POSIX mutex: every access goes through `withLock`.
///
/// Why not `Synchronization.Mutex`: on Linux it parks on futexes that ThreadSanitizer cannot
/// see, so a TSan run reports every access it guards as a race; `pthread_mutex_t` is
/// intercepted by the sanitizer, which keeps the CI's TSan run meaningful. (`@unchecked
/// Sendable` is sound because `value` is only reached under the lock.)
final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
