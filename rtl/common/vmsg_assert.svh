// Assertion macros of the peripheral, in the manner of OpenTitan's prim_assert.
//
//   `VMSG_SVA_EN(clk, rst_n)             declares sva_en_q, the default enable of the checks: in
//                                        simulation a flop, 0 in reset and in the first clock
//                                        after it, then 1 (the reset net stays an asynchronous
//                                        reset only); under FORMAL rst_n itself
//   `VMSG_ASSERT(name, prop, msg[, clk, en])  a rule the module guarantees
//   `VMSG_ASSUME(name, prop, msg[, clk, en])  a rule the module relies on from its inputs
//
//   prop  a boolean expression of the values at the clock edge; `->` for implication, $past,
//         $stable, $rose and $fell for the previous clock. No sequences (|->, ##): the slang
//         front end of Yosys reads only this form, so that `make formal` proves the rules.
//   msg   the failure message with its format arguments, in parentheses: ("text %0d", sig)
//   clk   the clock (default clk_i); en: the check is on while en is 1 (default sva_en_q)
//
// Modes, chosen by the defines of the tool:
//   simulation (SYNTHESIS not defined)  both are checked; a failure is an $error with msg
//   FORMAL                              ASSERT is a proof obligation, ASSUME a constraint
//   SYNTHESIS without FORMAL            nothing: the modules guard their checking logic with
//                                       `ifdef VMSG_ASSERT_ON
//
// In simulation an ASSUME is an assertion too: a module that is given an input breaking its
// rule fails the test that did it.

`ifndef VMSG_ASSERT_SVH
`define VMSG_ASSERT_SVH

`ifdef FORMAL
  `define VMSG_ASSERT_ON
`elsif SYNTHESIS
`else
  `define VMSG_ASSERT_ON
`endif

`ifdef FORMAL

// Out of reset, every rule holds from the first clock: the inputs obey their rules as soon as
// the reset is released, and the outputs keep theirs in the reset state too.
`define VMSG_SVA_EN(clk, rst_n)                      \
  logic sva_en_q;                                    \
  assign sva_en_q = rst_n;


`define VMSG_ASSERT(name, prop, msg, clk = clk_i, en = sva_en_q) \
  name: assert property (@(posedge clk) disable iff (!(en)) (prop));

`define VMSG_ASSUME(name, prop, msg, clk = clk_i, en = sva_en_q) \
  name: assume property (@(posedge clk) disable iff (!(en)) (prop));

`else

`define VMSG_SVA_EN(clk, rst_n)                      \
  logic sva_en_q;                                    \
  always_ff @(posedge clk or negedge rst_n) begin    \
    if (!rst_n) sva_en_q <= 1'b0;                    \
    else        sva_en_q <= 1'b1;                    \
  end

`define VMSG_ASSERT(name, prop, msg, clk = clk_i, en = sva_en_q) \
  name: assert property (@(posedge clk) disable iff (!(en)) (prop)) else $error msg;

`define VMSG_ASSUME(name, prop, msg, clk = clk_i, en = sva_en_q) \
  name: assert property (@(posedge clk) disable iff (!(en)) (prop)) else $error msg;

`endif

`endif  // VMSG_ASSERT_SVH
