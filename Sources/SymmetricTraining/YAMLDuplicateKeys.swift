import Foundation
import Yams

/// YAML allows a mapping to repeat a key and keeps the last value; in a config that silently
/// drops a setting. This walks a parsed document and rejects the first repeated key, naming it
/// and both lines.
enum YAMLDuplicateKeys {
    /// - Parameter path: the dotted path of `node` (for the message), "" at the top.
    static func check(_ node: Node?, path: String = "") throws {
        guard let node else { return }
        switch node {
        case .mapping(let mapping):
            var firstLine: [String: Int] = [:]
            for (k, v) in mapping {
                let key = k.string ?? "\(k)"
                let full = path.isEmpty ? key : "\(path).\(key)"
                let line = (k.mark?.line).map { $0 } ?? 0
                if let first = firstLine[key] {
                    throw ConfigError(key: ConfigEcho.truncated(full),
                                      "appears twice in the same mapping (lines \(first) and \(line)); YAML would silently keep only the last value, so remove one")
                }
                firstLine[key] = line
                try check(v, path: full)
            }
        case .sequence(let seq):
            for (i, item) in seq.enumerated() { try check(item, path: "\(path)[\(i)]") }
        default:
            return
        }
    }
}

/// Values echoed in messages are cut to a readable length (a 50 MB value is not printed back).
public enum ConfigEcho {
    public static let maxCharacters = 120

    public static func truncated(_ s: String) -> String {
        guard s.count > maxCharacters else { return s }
        return String(s.prefix(maxCharacters)) + "… (\(s.count) characters)"
    }

    /// `message` with every occurrence of a long `value` replaced by its truncation.
    static func shorten(_ message: String, value: String) -> String {
        guard value.count > maxCharacters else { return message }
        return message.replacingOccurrences(of: value, with: truncated(value))
    }
}
