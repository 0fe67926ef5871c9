import Foundation

/// Scratch directories for the test targets: all of a test process's lie under one directory in
/// the system's temporary directory, removed when the process exits (runs must not leave files
/// behind; a developer's machine ran the suite thousands of times).
public enum ScratchSpace {
    /// This process's directory, `hybridpq-tests-<pid>`.
    public static let root: String = {
        let root = NSTemporaryDirectory() + "hybridpq-tests-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: ScratchSpace.root) }
        return root
    }()

    /// A fresh empty directory under `root`.
    public static func directory() -> String {
        let path = root + "/" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
