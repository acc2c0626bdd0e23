import Foundation

/// A run started by `symdp sweep` stops when its sweep dies, even by SIGKILL or SIGHUP (which the
/// sweep cannot pass on): the sweep names itself in `SYMDP_PARENT_PID`, and the run checks twice a
/// second that it is still its parent. Stopping is as safe as a SIGKILL (every file is written
/// atomically, the lock dies with the process); the restarted sweep resumes the run.
enum ParentWatch {
    static let variable = "SYMDP_PARENT_PID"
    nonisolated(unsafe) static var timer: DispatchSourceTimer?

    static func start() {
        guard let text = ProcessInfo.processInfo.environment[variable], let parent = Int32(text), parent > 1 else { return }
        func check() {
            if getppid() != parent {
                FileHandle.standardError.write("the sweep that started this run (process \(parent)) has ended: stopping; the run resumes when the sweep is started again\n".data(using: .utf8)!)
                _exit(143)
            }
        }
        check()
        let t = DispatchSource.makeTimerSource(queue: .global())
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler(handler: check)
        t.resume()
        timer = t
    }
}
