// Package attack implements adversarial attacks on classifiers: the
// score-based black-box query attacks that the AAA/UniG/QueryNet papers
// evaluate defenses against (Square L∞ and L2, NES, SignHunter, SimBA pixel
// and DCT, Bandits-TD), the white-box FGSM and PGD (L∞ and L2, with
// restarts and step-size schedules) used as a sanity reference and for
// adversarial training, and the white-box evaluation people trust: APGD-CE,
// APGD-DLR and APGD-T ([APGD]) and the AutoAttack-lite ensemble
// ([AutoAttack]: APGD-CE, APGD-T, then Square on what is left).
//
// # Oracle
//
// Black-box attacks never see a model directly. They see an [Oracle], which
// wraps any [model.Classifier] (undefended, or a defended model whose logits
// went through a post-processor) and returns only its scores (the K logits
// of each queried input). The oracle
//
//   - counts every query per sample: one query is one input of one sample
//     passed through the model, whatever the attack does with its scores;
//   - enforces a per-sample budget (see "Budgets" below);
//   - splits large query batches into model calls of at most
//     [OracleOptions].BatchSize inputs;
//   - optionally quantises every input to 8 bits, floor(255·x)/255, before
//     the forward pass, as the official AAA victim does;
//   - optionally records the query trace (sample, per-sample query number,
//     scores).
//
// [Oracle.Query] rejects inputs outside [0, 1] (NaN included). The attacks
// of this package skip that O(d) value check for their own candidates,
// which lie in [0, 1] by construction (it was half of Square's own cost
// per iteration); the package's tests turn it back on for every query. A
// model error fails only the samples of the model call that failed (a
// [*ModelError]); the other samples go on.
//
// # Query counting convention
//
// Every forward pass of one input counts as one query of its sample, with no
// exceptions: success checks, exploration probes and the clean query are all
// counted, and nothing is ever counted that was not queried. Concretely, an
// attack's [Attack.Run] starts with one query of every clean input (to read
// the starting loss and to skip samples the model already misclassifies),
// and a sample's success is decided from the scores of the very queries the
// attack makes, never by an extra uncounted forward pass. This is the AAA
// convention (its Square loop counts the clean query and the initialisation
// query as 2); the original Square code does not count the clean query, so
// subtract 1 from [Result].FooledAt to compare with its numbers.
//
// Per attack this gives (q = queries, clean query included):
//
//   - Square: 1 clean + 1 initialisation + 1 per iteration.
//   - NES: 1 clean + per step 2·Samples antithetic probes + 1 query of the
//     new iterate (the success check). The reference harness does not count
//     the check; the last step uses fewer pairs if the budget is short.
//   - SignHunter: 1 clean + 1 per sign-flip step + 1 at the start of every
//     round (the all-ones vertex). The reference counts 3 extra queries at
//     the start and re-queries the unchanged anchor x₀ every step; its score
//     is already known, so this port does not query it again.
//   - SimBA: 1 clean + 1 per coordinate whose "−" step improved the loss, 2
//     for the others. The reference evaluates the "+" step for every image
//     and counts it only for failures, and re-queries the current image each
//     iteration without counting it; this port queries "+" only when needed
//     and counts everything.
//   - Bandits: 1 clean + 3 per step (two finite-difference probes and the
//     new iterate). The reference counts only the 2 probes as loss queries.
//   - FGSM / PGD / MI-FGSM: 1 clean + 1 per gradient evaluation (the logits seen by
//     the gradient call also decide success at that point) + 1 final check
//     per restart.
//   - APGD: 1 clean + per run (restart, and target for APGD-T) 1 gradient
//     evaluation at the starting point + 1 per iteration; every evaluated
//     point is a candidate, so there is no final check. For white-box
//     attacks the queries are thus gradient evaluations.
//   - AutoAttack: the sum over its components, each with its own clean
//     query.
//
// # Budgets
//
// [OracleOptions].Budget is a hard per-sample limit over the oracle's
// lifetime (until [Oracle.Reset]). Attacks plan their queries with
// [Oracle.Remaining] and never ask for more than a sample has left: a step
// that would not fit is shortened (NES uses fewer pairs) or not taken, and
// the sample then stops. A query that would exceed the budget of any of its
// samples is refused as a whole with a [*BudgetError]: nothing is counted
// and the model is not called. Budget 0 means unlimited; the attacks
// without a natural end (NES, SignHunter, Bandits) then refuse to run, while
// Square stops after NIters iterations, SimBA when its coordinates run out
// and FGSM/PGD after their steps.
//
// [Attack.Run] does not reset the oracle: running two attacks on one oracle
// shares the budget. Create a fresh oracle (or call [Oracle.Reset]) for
// independent runs.
//
// # Success
//
// A sample counts as fooled at the first query of a feasible point (inside
// the ε-ball around the clean input and inside [0, 1]) whose scores put the
// argmax (first index on ties) on a class other than the label (untargeted)
// or on the target (targeted). Exploration probes of NES and Bandits, which
// may leave the ε-ball, never count as successes. [Result].Adv holds that
// first fooling point; the reference codes test "margin ≤ 0", which differs
// only on exact ties. A fooled sample is not queried again (per-sample early
// stop). Samples the clean query already misclassifies are not attacked:
// untargeted, they are reported fooled at query 1 with Adv = x (targeted:
// only if the model already predicts the target); [Result].CleanCorrect
// tells them apart. A query batch is one oracle call: a sample appears at
// most once among the candidates of a call, so nothing is queried after
// its fooling query.
//
// # Losses
//
// Every attack here minimises an objective of the scores chosen by [Loss]:
// the margin z_y − max_{j≠y} z_j (targeted: max_{j≠t} z_j − z_t), the
// log-probability log p_y (targeted: −log p_t; minimising it maximises the
// cross-entropy as NES, SignHunter and Bandits do) or the probability p_y
// (targeted: −p_t; SimBA's criterion). [LossDefault] picks each attack's
// reference choice: margin for untargeted Square, cross-entropy for targeted
// Square, NES, SignHunter, Bandits, FGSM and PGD, probability for SimBA.
//
// # Threat model and projection
//
// Every point an attack proposes as a candidate lies within Eps of the clean
// input in the chosen [Norm] and inside [0, 1]; this holds exactly when
// checked in float64 on the float32 values (the projection rounds inward).
// Exploration probes (NES, Bandits) are only clipped to [0, 1], since the
// oracle accepts nothing else; the reference code leaves them unclipped.
//
// # Determinism and cancellation
//
// All randomness comes from [RunOptions].Rand (math/rand/v2); the same seed,
// model and inputs give the same [Result] bit for bit. Run checks its context
// between rounds (one round is one batched oracle call) and passes it to the
// model; on cancellation it returns the partial result together with
// ctx.Err().
//
// # Registry
//
// Attacks register under their command-line names ("square", "square-l2",
// "nes", "signhunter", "simba", "simba-dct", "bandits", "fgsm", "pgd",
// "pgd-l2", "apgd-ce", "apgd-dlr", "apgd-t", "autoattack" ([WhiteBox] tells
// the white-box ones apart), and the AAA paper's adaptive "up-square" and "bi-square", see
// [LossUp] and [LossBi]); [New] returns a pointer to the attack's settings struct filled
// with the spec's defaults. The settings are plain exported fields with JSON
// tags, so a command line can override them by unmarshalling JSON into the
// value [New] returns, and the shared threat model is reachable through
// [Attack.ThreatModel].
//
// Spec: /work/shared/methods/robustness.md §0, §2, §3 (and §1.3 for the
// evaluation protocol).
package attack
