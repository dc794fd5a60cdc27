// Round-robin arbiter: grants the lowest requester at or above the pointer, else the lowest one.
// The pointer moves past the granted requester when the grant is taken (take_i).
//
// The pointer is kept as a mask of the requesters at or above it, and the grant is the lowest set
// bit of {requests, requests under the mask}, found with one carry chain (x - 1) instead of two
// priority encoders: a short path for any N. The same chain gives the next mask.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_rr_arb #(
  parameter int unsigned N = 4,  // requesters, at least 1
  localparam int unsigned IW = (N > 1) ? $clog2(N) : 1  // width of an index
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  input  wire  [N-1:0]  req_i,   // requests
  input  wire           take_i,  // the grant of this cycle is used
  output logic          gnt_valid_o,
  output logic [IW-1:0] gnt_idx_o
);

  // elaboration-time parameter checks
  if (N < 1) begin : g_param_err0
    $fatal(1, "vmsg_eng_rr_arb: N must be at least 1");
  end

  logic [N-1:0]   mask_q;   // requesters at or above the pointer
  logic [2*N-1:0] dbl, upto, first;
  logic [N-1:0]   gnt_oh;   // grant, one-hot (all zero without a request)
  logic           in_upper; // the grant is among the masked requests

  // lowest set bit of the masked requests, else of all requests; upto: the bits up to it
  assign dbl      = {req_i, req_i & mask_q};
  assign upto     = dbl ^ (dbl - (2 * N)'(1));
  assign first    = dbl & upto;
  assign gnt_oh   = first[N-1:0] | first[2*N-1:N];
  assign in_upper = |(req_i & mask_q);

  always_comb begin
    gnt_idx_o = '0;
    for (int unsigned i = 0; i < N; i++) begin
      if (gnt_oh[i]) gnt_idx_o = gnt_idx_o | IW'(i);
    end
  end
  assign gnt_valid_o = |req_i;

  // after a grant to i the pointer is i + 1: the mask holds the requesters above i (none when i
  // is the last, which is the same as all of them)
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mask_q <= '1;
    end else if (take_i && gnt_valid_o) begin
      mask_q <= in_upper ? ~upto[N-1:0] : ~upto[2*N-1:N];
    end
  end

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  `VMSG_ASSERT(a_onehot,
      $onehot0(gnt_oh) && (gnt_valid_o == (gnt_oh != '0)) && ((gnt_oh & ~req_i) == '0),
    ("vmsg_eng_rr_arb: grant not one-hot or not requested"))
  `VMSG_ASSERT(a_next_mask,
      gnt_valid_o -> (in_upper ? ~upto[N-1:0] : ~upto[2*N-1:N]) == ~(gnt_oh | (gnt_oh - N'(1))),
    ("vmsg_eng_rr_arb: next pointer mask wrong"))
`endif

endmodule

`default_nettype wire
