//! One task's output as its pane shows it: lines, where a carriage return starts its line
//! over (a progress counter redraws in place), and the bytes as printed, for the log printed
//! when the UI closes.

/// What a task printed.
#[derive(Debug, Default)]
pub struct TaskLog {
    /// Every byte, as printed.
    raw: Vec<u8>,
    /// The lines ended by a newline.
    lines: Vec<Vec<u8>>,
    /// The line being printed.
    current: Vec<u8>,
    /// A `\r` was read: unless a `\n` follows, the line starts over.
    carriage: bool,
}

impl TaskLog {
    /// Adds what the task printed next.
    pub fn push(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        for &byte in bytes {
            match byte {
                b'\n' => {
                    self.lines.push(std::mem::take(&mut self.current));
                    self.carriage = false;
                }
                b'\r' => self.carriage = true,
                _ => {
                    if self.carriage {
                        self.current.clear();
                        self.carriage = false;
                    }
                    self.current.push(byte);
                }
            }
        }
    }

    /// How many lines the pane has, the one being printed included.
    pub fn len(&self) -> usize {
        self.lines.len() + usize::from(!self.current.is_empty())
    }

    /// Line `index` (0 is the first), without its newline.
    pub fn line(&self, index: usize) -> &[u8] {
        self.lines
            .get(index)
            .map_or(self.current.as_slice(), Vec::as_slice)
    }

    /// Every byte the task printed, as printed.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(log: &TaskLog) -> Vec<String> {
        (0..log.len())
            .map(|i| String::from_utf8_lossy(log.line(i)).into_owned())
            .collect()
    }

    #[test]
    fn chunks_join_into_lines_and_the_last_line_shows_while_it_grows() {
        let mut log = TaskLog::default();
        log.push(b"one\ntw");
        assert_eq!(lines(&log), ["one", "tw"]);
        log.push(b"o\nthree");
        assert_eq!(lines(&log), ["one", "two", "three"]);
        assert_eq!(log.raw(), b"one\ntwo\nthree");
    }

    #[test]
    fn a_carriage_return_starts_the_line_over_but_crlf_ends_it() {
        let mut log = TaskLog::default();
        log.push(b"10%\r20%\r");
        assert_eq!(lines(&log), ["20%"]);
        log.push(b"100%\r\ndone\r\n");
        assert_eq!(lines(&log), ["100%", "done"]);
    }

    #[test]
    fn empty_lines_count() {
        let mut log = TaskLog::default();
        log.push(b"\n\nx\n");
        assert_eq!(lines(&log), ["", "", "x"]);
        assert_eq!(TaskLog::default().len(), 0);
    }
}
