// Round-robin arbiter: grants the lowest requester at or above the pointer, else the lowest one.
// The pointer moves past the granted requester when the grant is taken (take_i).

`default_nettype none

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

  logic [IW-1:0] ptr_q;
  logic [N-1:0]  upper;
  logic          upper_any;
  logic [IW-1:0] upper_idx, any_idx;

  always_comb begin
    upper_idx = '0;
    any_idx   = '0;
    for (int i = N - 1; i >= 0; i--) begin
      upper[i] = req_i[i] && (IW'(i) >= ptr_q);
      if (upper[i]) upper_idx = IW'(i);
      if (req_i[i]) any_idx = IW'(i);
    end
    upper_any = |upper;
  end

  assign gnt_valid_o = |req_i;
  assign gnt_idx_o   = upper_any ? upper_idx : any_idx;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ptr_q <= '0;
    end else if (take_i && gnt_valid_o) begin
      ptr_q <= (gnt_idx_o == IW'(N - 1)) ? '0 : gnt_idx_o + IW'(1);
    end
  end

endmodule

`default_nettype wire
