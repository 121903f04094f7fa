/// The instructions sent to an LLM judge: a system message that states the criterion and the
/// answer format, and a user message holding the prompt and the completion (method §6.3).
///
/// The wording is this project's own. Any change to it must bump ``version``, because the version
/// enters the judge's identity and therefore the key of every cached score.
public enum JudgeRubric {
    /// Version of the wording below.
    public static let version = 1

    /// The system message for `criterion`.
    public static func systemMessage(criterion: String) -> String {
        """
        You are an evaluator of text written by a language model. The model was given a short prompt \
        and wrote a continuation of it. Judge only the continuation, against this criterion:

        \(criterion)

        Rate how well the continuation meets the criterion on an integer scale from 1 to 10, where 1 \
        means it does not meet the criterion at all and 10 means it meets it completely. \
        Respond with a JSON object that has exactly one field, "score", whose value is that integer, \
        for example {"score": 4}. Do not write anything else.
        """
    }

    /// The user message: the prompt, then the completion in triple quotes.
    public static func userMessage(prompt: String, completion: String) -> String {
        """
        Prompt:
        \(prompt)

        Completion:
        \"\"\"
        \(completion)
        \"\"\"
        """
    }
}
